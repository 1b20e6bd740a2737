package io.picotunnel.server.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.testkit.EchoServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The server's own session to a tunnel's only client at the server's {@code --max-streams}: the server opens no
 * stream, so an HTTP visitor learns that the tunnel is busy, not that the app failed; a tcp visitor is closed.
 * Real server, client and targets.
 */
class ServerStreamLimitEndToEndTest {

    private static final String HOST = "full.test";
    /** With it, --max-tunnel-requests is 1: tcp visitors fill the session, as the client's own streams may. */
    private static final int MAX_STREAMS = 2;

    @TempDir
    Path dataDir;

    private Testbed testbed;
    private RecordingTarget web;
    private EchoServer echo;
    private int tcpPort;
    private String tunnelId;

    @BeforeEach
    void start() {
        testbed = new Testbed(dataDir, Map.of(Setting.MAX_STREAMS, String.valueOf(MAX_STREAMS)));
        web = new RecordingTarget();
        echo = new EchoServer();
        JsonNode tunnel = testbed.createTunnel("full");
        tunnelId = tunnel.get("id").asText();
        testbed.createService(tunnelId, "{\"type\":\"http\",\"domain\":\"" + HOST + "\",\"target_addr\":\""
                + web.address() + "\"}");
        tcpPort = testbed.createTcpServiceOnFreePort(tunnelId, echo.address()).port();
        testbed.startClient(tunnel.get("token").asText());
        await().atMost(Duration.ofSeconds(10)).until(() -> testbed.isConnected(tunnelId));
    }

    @AfterEach
    void stop() {
        testbed.close();
        web.close();
        echo.close();
    }

    @Test
    void aRequestToATunnelWhoseOnlyClientSessionIsAtTheServersStreamLimitGets503TunnelBusy() throws Exception {
        Socket first = relayed();
        Socket second = relayed();
        try (first; second) {
            String answer = get();

            assertThat(answer).startsWith("HTTP/1.1 503").contains("tunnel_busy")
                    .containsIgnoringCase("Retry-After: 5").doesNotContain("target_unreachable");
            assertThat(web.requestCount()).isZero();
        }
    }

    @Test
    void aTcpVisitorToATunnelWhoseOnlyClientSessionIsAtTheServersStreamLimitIsClosed() throws Exception {
        Socket first = relayed();
        Socket second = relayed();
        try (first; second; Socket third = new Socket(InetAddress.getLoopbackAddress(), tcpPort)) {
            third.setSoTimeout(10_000);
            boolean ended;
            try {
                third.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
                ended = endOf(third.getInputStream());
            } catch (IOException resetBeforeTheWrite) {
                ended = true;
            }

            assertThat(ended).as("closed or reset, nothing echoed").isTrue();
        }
    }

    /** True when the stream ends (EOF or reset) before any byte. */
    private static boolean endOf(InputStream in) {
        try {
            return in.read() == -1;
        } catch (IOException reset) {
            return true;
        }
    }

    /** A tcp visitor whose stream is open on the client: its bytes came back from the echo target. */
    private Socket relayed() throws Exception {
        Socket visitor = new Socket(InetAddress.getLoopbackAddress(), tcpPort);
        visitor.setSoTimeout(10_000);
        visitor.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
        assertThat(new String(visitor.getInputStream().readNBytes(4), StandardCharsets.US_ASCII)).isEqualTo("ping");
        return visitor;
    }

    /** {@code GET /} to the HTTP service, as one raw answer (head and body). */
    private String get() throws Exception {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), testbed.server().httpPort())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(("GET / HTTP/1.1\r\nHost: " + HOST + "\r\nAccept: application/json\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
