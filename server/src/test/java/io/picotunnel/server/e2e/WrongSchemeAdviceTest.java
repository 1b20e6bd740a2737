package io.picotunnel.server.e2e;

import ch.qos.logback.classic.Level;
import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.ServerAddress;
import io.picotunnel.client.tunnel.TunnelClient;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** What the client advises when given wss:// for one of a plain server's ports; real server and client. */
class WrongSchemeAdviceTest {

    @TempDir
    Path dataDir;

    private Testbed testbed;
    private TunnelClient client;

    @BeforeEach
    void start() {
        testbed = new Testbed(dataDir);
    }

    @AfterEach
    void stop() throws Exception {
        if (client != null) {
            client.stop(Duration.ZERO).get(20, TimeUnit.SECONDS);
        }
        testbed.close();
    }

    /** It was told "speaks plain ws://, not TLS: use --server ws://...:PORT", though that port is no tunnel endpoint. */
    @Test
    void wssToTheHttpProxyPortIsNotSimplyToldToUseWs() {
        int proxyPort = testbed.server().httpPort();
        String warning = firstWarning("wss://127.0.0.1:" + proxyPort);
        assertThat(warning).doesNotContain("speaks plain ws://")
                .contains("if it is its HTTP proxy or management port, use the tunnel port instead");
    }

    @Test
    void wssToThePlainTunnelPortStillNamesWsForThatPort() {
        int tunnelPort = testbed.tunnelPort();
        assertThat(firstWarning("wss://127.0.0.1:" + tunnelPort)).contains("127.0.0.1:" + tunnelPort
                + " answers without TLS: if it is the server's tunnel port (its --tunnel-addr), use --server"
                + " ws://127.0.0.1:" + tunnelPort + ";");
    }

    private String firstWarning(String server) {
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            client = new TunnelClient(ClientConfig.of(ServerAddress.parse(server), "no-token-needed")
                    .withShutdownGrace(Duration.ZERO));
            client.start();
            await().atMost(Duration.ofSeconds(20)).until(() -> !log.messages(Level.WARN).isEmpty());
            return log.messages(Level.WARN).getFirst();
        }
    }
}
