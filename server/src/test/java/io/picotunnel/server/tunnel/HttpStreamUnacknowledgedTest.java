package io.picotunnel.server.tunnel;

import ch.qos.logback.classic.Level;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A client that never acknowledges an HTTP request's stream: the server resets it at the end of its stream open
 * timeout (30 s), and the visitor hears that the tunnel's client did not answer, not that the app failed. A client
 * speaking yamux by hand stays silent, as no client of ours is made to.
 */
class HttpStreamUnacknowledgedTest {

    private static final String HOST = "silent.test";

    @TempDir
    Path dataDir;

    private RawClientTunnel bed;

    @BeforeEach
    void start() {
        bed = new RawClientTunnel(dataDir, "silent", HOST, Map.of());
    }

    @AfterEach
    void stop() {
        bed.close();
    }

    @Test
    void aRequestWhoseStreamTheClientNeverAcknowledgesGets504TunnelNotAnsweringNotTargetUnreachable()
            throws Exception {
        try (RawTunnelClient client = bed.connect();
             LogCapture log = new LogCapture("io.picotunnel.server.proxy.http.Exchange", Level.INFO);
             Socket visitor = new Socket(InetAddress.getLoopbackAddress(), bed.testbed.server().httpPort())) {
            visitor.setSoTimeout(60_000);
            visitor.getOutputStream().write(("GET / HTTP/1.1\r\nHost: " + HOST
                    + "\r\nAccept: application/json\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            RawClientTunnel.awaitFirstSyn(client);

            String answer = new String(visitor.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

            assertThat(answer).startsWith("HTTP/1.1 504").contains("\"error\":\"tunnel_not_answering\"")
                    .doesNotContain("target_unreachable");
            assertThat(bed.tunnel.web.requestCount()).isZero();
            assertThat(log.messages(Level.INFO)).singleElement().asString().startsWith("service ")
                    .contains("the tunnel's client did not acknowledge the request's stream")
                    .endsWith("GET " + HOST + " from 127.0.0.1 is answered 504 tunnel_not_answering")
                    .doesNotContain("ended the stream");
        }
    }
}
