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

/**
 * What the client advises when given the server's management or HTTP proxy port instead of its tunnel port, with the
 * tunnel's right token: to use the tunnel port, going on retrying, never stopping as if the token were rejected (the
 * management port answers the tunnel's path 404, and a password-gated service on the HTTP proxy port answers the
 * upgrade with an HTML 401, not the tunnel endpoint's JSON refusal); and when given wss:// for one of a plain server's
 * ports. Real server and client.
 */
class WrongPortAdviceTest {

    private static final String TUNNEL_PORT_ADVICE = "use the port of the server's --tunnel-addr";

    @TempDir
    Path dataDir;

    private Testbed testbed;
    private TunnelClient client;
    private String tunnelId;
    private String token;

    @BeforeEach
    void start() {
        testbed = new Testbed(dataDir);
        var tunnel = testbed.createTunnel("wrong-port");
        tunnelId = tunnel.get("id").asText();
        token = tunnel.get("token").asText();
    }

    @AfterEach
    void stop() throws Exception {
        if (client != null) {
            client.stop(Duration.ZERO).get(20, TimeUnit.SECONDS);
        }
        testbed.close();
    }

    @Test
    void theManagementPortIsNamedNotTheTunnelEndpointAndRetried() {
        String warning = secondWarning("ws://127.0.0.1:" + testbed.server().apiPort());
        assertThat(warning).contains("answered HTTP 404 Not Found", TUNNEL_PORT_ADVICE).doesNotContain("token");
    }

    @Test
    void theHttpProxyPortIsNamedNotTheTunnelEndpointAndRetried() {
        String warning = secondWarning("ws://127.0.0.1:" + testbed.server().httpPort());
        assertThat(warning).contains("answered HTTP 404 Not Found", TUNNEL_PORT_ADVICE).doesNotContain("token");
    }

    /** The service's password gate answers 401 (an HTML page with WWW-Authenticate: Basic) to the upgrade. */
    @Test
    void aPasswordGatedServiceOnTheHttpProxyPortIsRetriedAndTheTunnelPortNamed() {
        testbed.createService(tunnelId, "{\"type\":\"http\",\"domain\":\"gated.localhost\",\"target_addr\":"
                + "\"127.0.0.1:9\",\"auth\":{\"type\":\"basic\",\"username\":\"ops\","
                + "\"password\":\"a long password\"}}");
        String warning = secondWarning("ws://gated.localhost:" + testbed.server().httpPort());
        assertThat(warning).contains("answered HTTP 401 Unauthorized", TUNNEL_PORT_ADVICE)
                .doesNotContain("rejected the token");
    }

    /** It was told "speaks plain ws://, not TLS: use --server ws://...:PORT", though the port is no tunnel endpoint. */
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

    /** The second attempt's warning: the client did not stop after the first refusal. */
    private String secondWarning(String server) {
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            client = new TunnelClient(ClientConfig.of(ServerAddress.parse(server), token)
                    .withShutdownGrace(Duration.ZERO));
            client.start();
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> log.messages(Level.WARN).size() >= 2 || client.terminated().isDone());
            assertThat(client.terminated()).as("the client stopped: %s", log.messages(Level.ERROR)).isNotDone();
            assertThat(log.messages(Level.ERROR)).isEmpty();
            return log.messages(Level.WARN).get(1);
        }
    }
}
