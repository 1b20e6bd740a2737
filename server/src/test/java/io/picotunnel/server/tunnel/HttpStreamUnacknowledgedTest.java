package io.picotunnel.server.tunnel;

import ch.qos.logback.classic.Level;
import io.picotunnel.server.e2e.ServicedTunnel;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.Socket;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static io.picotunnel.server.tunnel.RawTunnelClient.FLAG_SYN;
import static io.picotunnel.server.tunnel.RawTunnelClient.TYPE_PING;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A client that never acknowledges an HTTP request's stream: the server resets it at the end of its stream open
 * timeout (30 s), and the visitor hears that the tunnel's client did not answer, not that the app failed. A client
 * speaking yamux by hand stays silent, as no client of ours is made to.
 */
class HttpStreamUnacknowledgedTest {

    private static final String HOST = "silent.test";

    @TempDir
    Path dataDir;

    private Testbed testbed;
    private ServicedTunnel tunnel;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void start() {
        testbed = new Testbed(dataDir);
        tunnel = new ServicedTunnel(testbed, "silent", HOST);
    }

    @AfterEach
    void stop() {
        testbed.close();
        tunnel.close();
        http.close();
    }

    @Test
    void aRequestWhoseStreamTheClientNeverAcknowledgesGets504TunnelNotAnsweringNotTargetUnreachable()
            throws Exception {
        try (RawTunnelClient client = RawTunnelClient.connect(http, testbed.tunnelPort(), tunnel.token);
             LogCapture log = new LogCapture("io.picotunnel.server.proxy.http.Exchange", Level.INFO);
             Socket visitor = new Socket(InetAddress.getLoopbackAddress(), testbed.server().httpPort())) {
            visitor.setSoTimeout(60_000);
            visitor.getOutputStream().write(("GET / HTTP/1.1\r\nHost: " + HOST
                    + "\r\nAccept: application/json\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            await().atMost(10, TimeUnit.SECONDS).until(() -> client.frames().stream()
                    .anyMatch(f -> f.type() != TYPE_PING && (f.flags() & FLAG_SYN) != 0));

            String answer = new String(visitor.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

            assertThat(answer).startsWith("HTTP/1.1 504").contains("\"error\":\"tunnel_not_answering\"")
                    .doesNotContain("target_unreachable");
            assertThat(tunnel.web.requestCount()).isZero();
            assertThat(log.messages(Level.INFO)).singleElement().asString().startsWith("service ")
                    .contains("the tunnel's client did not acknowledge the request's stream")
                    .endsWith("GET " + HOST + " from 127.0.0.1 is answered 504 tunnel_not_answering")
                    .doesNotContain("ended the stream");
        }
    }
}
