package io.picotunnel.server.proxy.tcp;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.testbed.CommitFaults;
import io.picotunnel.server.testbed.TcpServicePorts;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.testkit.EchoServer;
import io.picotunnel.testkit.Ports;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;

import static io.picotunnel.server.proxy.tcp.TcpServiceChecks.assertANewVisitorEchoes;
import static io.picotunnel.server.proxy.tcp.TcpServiceChecks.assertEchoes;
import static io.picotunnel.server.proxy.tcp.TcpServiceChecks.move;
import static io.picotunnel.server.proxy.tcp.TcpServiceChecks.stored;
import static io.picotunnel.server.proxy.tcp.TcpServiceChecks.visit;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Changes to tcp services whose commit fails (a deferred foreign key that a trigger on {@code services} breaks, as in
 * CommitFailureTest): the listeners follow only what is stored, so an undone change leaves the ports and the open
 * connections as they were.
 */
class TcpServiceCommitFailureTest {

    @TempDir
    Path dataDir;

    @Test
    void anUndoneDeleteDisableOrMoveKeepsTheServicesPortAndItsOpenConnections() throws Exception {
        try (EchoServer echo = new EchoServer(); Testbed testbed = new Testbed(dataDir)) {
            String tunnel = testbed.createConnectedTunnel("undone");
            TcpServicePorts.Created service = testbed.createTcpServiceOnFreePort(tunnel, echo.address());
            int disabledPort = Ports.freePort();
            String disabled = testbed.createService(tunnel, "{\"type\":\"tcp\",\"listen_addr\":\"127.0.0.1:"
                    + disabledPort + "\",\"target_addr\":\"" + echo.address() + "\",\"enabled\":false}")
                    .get("id").asText();
            CommitFaults.failEveryCommitThat(dataDir, "AFTER DELETE ON services", "AFTER UPDATE ON services");

            try (Socket visitor = visit(service.port())) {
                assertEchoes(visitor, "before");
                int moveTo = Ports.freePort();
                List<Supplier<ApiClient.Response>> undone = List.of(
                        () -> testbed.api().delete("/api/services/" + service.id()),
                        () -> testbed.api().patch("/api/services/" + service.id(), "{\"enabled\": false}"),
                        () -> move(testbed, service.id(), "127.0.0.1:" + moveTo),
                        () -> testbed.api().delete("/api/tunnels/" + tunnel));
                for (Supplier<ApiClient.Response> request : undone) {
                    ApiClient.Response response = request.get();
                    assertThat(response.status()).as("%s", response).isEqualTo(500);
                    assertRefused(moveTo, "the address of a move that was undone");
                    assertEchoes(visitor, "after " + response.raw().request().method() + " "
                            + response.raw().request().uri().getPath());
                    assertANewVisitorEchoes(service.port(), "a new visitor");
                }
            }
            JsonNode stored = stored(testbed, tunnel, service.id());
            assertThat(stored.get("enabled").asBoolean()).as("%s", stored).isTrue();
            assertThat(stored.get("active").asBoolean()).as("%s", stored).isTrue();

            ApiClient.Response enabled = testbed.api().patch("/api/services/" + disabled, "{\"enabled\": true}");
            assertThat(enabled.status()).as("%s", enabled).isEqualTo(500);
            assertRefused(disabledPort, "the port of a service whose enabling was undone");
        }
    }

    @Test
    void anUndoneMoveOrDeleteOfAServiceWaitingForItsPortLeavesItWaitingAndNothingElseListening() throws Exception {
        String tunnel;
        int port;
        String service;
        try (Testbed testbed = new Testbed(dataDir)) {
            tunnel = testbed.createTunnel("waiting").get("id").asText();
            TcpServicePorts.Created created = testbed.createTcpServiceOnFreePort(tunnel, "127.0.0.1:9");
            port = created.port();
            service = created.id();
        }
        ServerSocket squatter = new ServerSocket(); // another program's listener on the port
        try {
            squatter.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            try (Testbed testbed = new Testbed(dataDir)) {
                assertWaiting(testbed, tunnel, service, port);
                CommitFaults.failEveryCommitThat(dataDir, "AFTER DELETE ON services", "AFTER UPDATE ON services");
                int other = Ports.freePort();

                ApiClient.Response moved = move(testbed, service, "127.0.0.1:" + other);
                assertThat(moved.status()).as("%s", moved).isEqualTo(500);
                assertRefused(other, "the address of a move that was undone");
                assertWaiting(testbed, tunnel, service, port);

                ApiClient.Response deleted = testbed.api().delete("/api/services/" + service);
                assertThat(deleted.status()).as("%s", deleted).isEqualTo(500);
                assertWaiting(testbed, tunnel, service, port);

                squatter.close();
                await("the service binds its port once it is free").atMost(Duration.ofSeconds(30)).until(() ->
                        stored(testbed, tunnel, service).get("active").asBoolean());
                new Socket(InetAddress.getLoopbackAddress(), port).close();
                assertRefused(other, "the address of a move that was undone");
            }
        } finally {
            squatter.close();
        }
    }

    private static void assertWaiting(Testbed testbed, String tunnel, String service, int port) {
        JsonNode stored = stored(testbed, tunnel, service);
        assertThat(stored.get("listen_addr").asText()).as("%s", stored).isEqualTo("127.0.0.1:" + port);
        assertThat(stored.get("active").asBoolean()).as("%s", stored).isFalse();
        assertThat(stored.get("error").asText()).as("%s", stored)
                .startsWith("cannot listen on 127.0.0.1:" + port + ": ");
    }

    private static void assertRefused(int port, String what) {
        assertThatThrownBy(() -> new Socket(InetAddress.getLoopbackAddress(), port).close()).as(what)
                .isInstanceOf(ConnectException.class);
    }

}
