package io.picotunnel.server.tunnel;

import ch.qos.logback.classic.Level;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.server.config.Setting;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A client that never acknowledges an HTTP request's stream: the server resets it at the end of its stream open
 * timeout ({@code --stream-open-timeout}, 30 s by default; 2 s here), and the visitor hears that the tunnel's client
 * did not answer, not that the app failed. A longer setting keeps the visitor waiting for the client. A client
 * speaking yamux by hand stays silent, as no client of ours is made to.
 */
class HttpStreamUnacknowledgedTest {

    private static final String HOST = "silent.test";

    @TempDir
    Path dataDir;

    private RawClientTunnel bed;

    private void start(String streamOpenTimeout) {
        bed = new RawClientTunnel(dataDir, "silent", HOST, Map.of(Setting.STREAM_OPEN_TIMEOUT, streamOpenTimeout));
    }

    @AfterEach
    void stop() {
        if (bed != null) {
            bed.close();
        }
    }

    @Test
    void aRequestWhoseStreamTheClientNeverAcknowledgesGets504TunnelNotAnsweringAtTheStreamOpenTimeout()
            throws Exception {
        start("2s");
        try (RawTunnelClient client = bed.connect();
             LogCapture log = new LogCapture("io.picotunnel.server.proxy.http.Exchange", Level.INFO);
             LogCapture yamux = new LogCapture(YamuxSession.class, Level.WARN);
             Socket visitor = visitor()) {
            // Below the 30 s default: a setting that did not apply ends the read with a timeout instead of the 504.
            visitor.setSoTimeout(20_000);
            int stream = RawClientTunnel.awaitFirstSyn(client).streamId();

            String answer = new String(visitor.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

            assertThat(answer).startsWith("HTTP/1.1 504").contains("\"error\":\"tunnel_not_answering\"")
                    .doesNotContain("target_unreachable");
            assertThat(bed.tunnel.web.requestCount()).isZero();
            assertThat(yamux.messages(Level.WARN)).as("the setting is the timeout that applied")
                    .anyMatch(m -> m.endsWith("no ACK for stream " + stream + " within 2 s, resetting it"));
            assertThat(log.messages(Level.INFO)).singleElement().asString().startsWith("service ")
                    .contains("the tunnel's client did not acknowledge the request's stream within 2 s (the server's"
                            + " --stream-open-timeout), so the server reset it")
                    .endsWith("GET " + HOST + " from 127.0.0.1 is answered 504 tunnel_not_answering")
                    .doesNotContain("ended the stream");
        }
    }

    @Test
    void aLongerStreamOpenTimeoutKeepsTheVisitorWaitingForTheClientsAck() throws Exception {
        start("10m");
        try (RawTunnelClient client = bed.connect(); Socket visitor = visitor()) {
            int stream = RawClientTunnel.awaitFirstSyn(client).streamId();

            // Twice the short setting above, which has its 504 by then.
            await("no answer and no reset while the client may still acknowledge").during(Duration.ofSeconds(4))
                    .atMost(Duration.ofSeconds(10)).until(() -> visitor.getInputStream().available() == 0
                            && client.frames().stream().noneMatch(f -> f.streamId() == stream
                            && (f.flags() & RawTunnelClient.FLAG_RST) != 0));
            assertThat(bed.tunnel.web.requestCount()).isZero();
        }
    }

    /** A visitor that sent a GET to the tunnel's HTTP service. */
    private Socket visitor() throws IOException {
        Socket visitor = new Socket(InetAddress.getLoopbackAddress(), bed.testbed.server().httpPort());
        try {
            visitor.getOutputStream().write(("GET / HTTP/1.1\r\nHost: " + HOST
                    + "\r\nAccept: application/json\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            return visitor;
        } catch (IOException e) {
            visitor.close();
            throw e;
        }
    }
}
