package io.picotunnel.server.e2e;

import ch.qos.logback.classic.Level;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * While the server drains to stop (SIGTERM, within its shutdown grace period), the visitors' keep-alive connections
 * take no next request: a request on one hears that the server is stopping (503 {@code server_stopping},
 * Retry-After), not that the tunnel's client is gone, and every answer closes its connection, so that the visitor's
 * next request goes to the server's next instance. Real server, client and target; HTTP/1.1 on plain sockets.
 */
class HttpServerDrainEndToEndTest {

    private static final String HOST = "drain.test";
    private static final Pattern CONTENT_LENGTH = Pattern.compile("(?im)^content-length: *(\\d+)");

    @TempDir
    Path dataDir;

    private Testbed testbed;
    private ServicedTunnel tunnel;

    @BeforeEach
    void start() {
        testbed = new Testbed(dataDir);
        tunnel = new ServicedTunnel(testbed, "drain", HOST);
        testbed.connect(tunnel.id, tunnel.token);
    }

    @AfterEach
    void stop() {
        testbed.server().stopNow();
        testbed.close();
        tunnel.close();
    }

    @Test
    void aKeepAliveVisitorsNextRequestDuringTheDrainGets503ServerStoppingAndEveryAnswerClosesItsConnection()
            throws Exception {
        try (Socket idle = visitor(); Socket waiting = visitor();
             LogCapture drain = new LogCapture("io.picotunnel.server.tunnel.TunnelEndpoint", Level.INFO)) {
            assertThat(exchange(idle)).startsWith("HTTP/1.1 200").doesNotContainIgnoringCase("connection: close");
            tunnel.web.holdNextRequest();
            sendGet(waiting);
            await().atMost(Duration.ofSeconds(10)).until(() -> tunnel.web.requestCount() == 2);

            Thread stopping = Thread.ofPlatform().daemon().name("server-stop")
                    .start(() -> testbed.server().stop(Duration.ofSeconds(30)));
            await("the server drains").atMost(Duration.ofSeconds(10))
                    .until(() -> drain.messages(Level.INFO).stream().anyMatch(m -> m.startsWith("draining: ")));

            String next = exchange(idle);
            assertThat(next).startsWith("HTTP/1.1 503").contains("\"error\":\"server_stopping\"")
                    .containsIgnoringCase("retry-after: 5").containsIgnoringCase("connection: close")
                    .contains("did not reach the app");
            assertThat(idle.getInputStream().read()).as("the connection is closed after the 503").isEqualTo(-1);
            assertThat(tunnel.web.requestCount()).as("the app never saw it").isEqualTo(2);

            tunnel.web.answerHeldRequest();
            assertThat(read(waiting)).as("an answer that came while the server drains")
                    .startsWith("HTTP/1.1 200").containsIgnoringCase("connection: close").endsWith("hello");
            assertThat(waiting.getInputStream().read()).as("its connection is closed after it").isEqualTo(-1);
            stopping.join(Duration.ofSeconds(20));
            assertThat(stopping.isAlive()).as("the drain ends with the last stream").isFalse();
        }
    }

    private Socket visitor() throws IOException {
        Socket visitor = new Socket(InetAddress.getLoopbackAddress(), testbed.server().httpPort());
        visitor.setSoTimeout(10_000);
        return visitor;
    }

    private static String exchange(Socket visitor) throws IOException {
        sendGet(visitor);
        return read(visitor);
    }

    /** A keep-alive {@code GET /} asking for JSON pages. */
    private static void sendGet(Socket visitor) throws IOException {
        visitor.getOutputStream().write(("GET / HTTP/1.1\r\nHost: " + HOST + "\r\nAccept: application/json\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        visitor.getOutputStream().flush();
    }

    /** One response delimited by its Content-Length: head and body, read no further. */
    private static String read(Socket visitor) throws IOException {
        InputStream in = visitor.getInputStream();
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        for (int i = 0; i < 16_384 && !head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n"); i++) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            head.write(b);
        }
        String text = head.toString(StandardCharsets.ISO_8859_1);
        Matcher length = CONTENT_LENGTH.matcher(text);
        assertThat(length.find()).as("a Content-Length in %s", text).isTrue();
        byte[] body = in.readNBytes(Integer.parseInt(length.group(1)));
        return text + new String(body, StandardCharsets.UTF_8);
    }
}
