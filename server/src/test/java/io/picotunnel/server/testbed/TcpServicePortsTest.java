package io.picotunnel.server.testbed;

import io.picotunnel.testkit.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Tests that create tcp services get another port when theirs was taken meanwhile, and only then. */
class TcpServicePortsTest {

    @TempDir
    Path dataDir;

    private Testbed testbed;
    private String tunnelId;

    @BeforeEach
    void start() {
        testbed = new Testbed(dataDir);
        tunnelId = testbed.createTunnel("ports").get("id").asText();
    }

    @AfterEach
    void stop() {
        testbed.close();
    }

    private static IntFunction<String> echoService() {
        return port -> "{\"type\":\"tcp\",\"listen_addr\":\"127.0.0.1:" + port + "\",\"target_addr\":\"127.0.0.1:9\"}";
    }

    @Test
    void aPortTakenBeforeTheServerBindsItIsReplacedByAnother() throws Exception {
        try (ServerSocket otherTest = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int taken = otherTest.getLocalPort();
            AtomicInteger asked = new AtomicInteger();

            TcpServicePorts.Created created = TcpServicePorts.create(testbed.api(), tunnelId, echoService(),
                    () -> asked.getAndIncrement() == 0 ? taken : Ports.freePort());

            assertThat(asked).hasValue(2);
            assertThat(created.port()).isNotEqualTo(taken);
            assertThat(created.service().get("listen_addr").asText()).isEqualTo("127.0.0.1:" + created.port());
        }
    }

    @Test
    void portsTakenAgainAndAgainFailAfterAFewTries() throws Exception {
        try (ServerSocket otherTest = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            AtomicInteger asked = new AtomicInteger();

            assertThatThrownBy(() -> TcpServicePorts.create(testbed.api(), tunnelId, echoService(), () -> {
                asked.incrementAndGet();
                return otherTest.getLocalPort();
            })).isInstanceOf(AssertionError.class).hasMessageContaining("every port tried was taken");
            assertThat(asked).hasValue(TcpServicePorts.ATTEMPTS);
        }
    }

    @Test
    void aConflictWithAnotherServiceFailsAtOnce() {
        int port = testbed.createTcpServiceOnFreePort(tunnelId, "127.0.0.1:9").port();
        AtomicInteger asked = new AtomicInteger();

        assertThatThrownBy(() -> TcpServicePorts.create(testbed.api(), tunnelId, echoService(), () -> {
            asked.incrementAndGet();
            return port;
        })).isInstanceOf(AssertionError.class).hasMessageContaining("409").hasMessageContaining("overlaps");
        assertThat(asked).hasValue(1);
    }
}
