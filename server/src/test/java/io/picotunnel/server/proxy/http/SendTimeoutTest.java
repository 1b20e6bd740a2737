package io.picotunnel.server.proxy.http;

import ch.qos.logback.classic.Level;
import io.netty.channel.Channel;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;

import static io.picotunnel.server.proxy.http.DirectProxyFixture.onLoop;
import static io.picotunnel.server.proxy.http.DirectProxyFixture.unwritten;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The send timeout (nginx's send_timeout, {@code --send-timeout}): a visitor that takes none of an answer the proxy
 * has whole and is still writing to it is reset after it, kept-alive answer or last one before the close; one that
 * reads slowly but steadily gets all of it.
 */
class SendTimeoutTest {

    private static final Duration SEND_TIMEOUT = Duration.ofSeconds(1);
    /**
     * More than the kernel buffers between the proxy and the visitor hold (a few KiB each, both set small), less than
     * the proxy's write buffer takes before the visitor's channel is unwritable: the answer comes whole from the target
     * and waits in the proxy for the visitor.
     */
    private static final int BODY = 48 * 1024;

    private DirectProxyFixture proxy;

    @BeforeEach
    void start() throws Exception {
        proxy = new DirectProxyFixture("send.test", settings -> settings.sendTimeout(SEND_TIMEOUT));
        proxy.listen(4 * 1024);
    }

    @AfterEach
    void stop() {
        proxy.close();
    }

    @Test
    void aVisitorThatStopsTakingAKeptAliveAnswerIsResetAfterTheSendTimeout() throws Exception {
        assertStalledVisitorIsReset("GET /download?" + BODY + " HTTP/1.1\r\nHost: send.test\r\n\r\n");
    }

    @Test
    void theResetIsLoggedWithTheSendTimeoutInSeconds() throws Exception {
        try (LogCapture log = new LogCapture(ProxyHandler.class, Level.DEBUG)) {
            assertStalledVisitorIsReset("GET /download?" + BODY + " HTTP/1.1\r\nHost: send.test\r\n\r\n");

            assertThat(log.messages(Level.DEBUG)).filteredOn(m -> m.contains("took none of the rest of an answer"))
                    .singleElement().asString().endsWith(" for 1 s: resetting the connection");
        }
    }

    /** The last answer before the close (HTTP/1.0): a FIN after what the kernel holds would end it like a whole one. */
    @Test
    void aVisitorThatStopsTakingTheLastAnswerBeforeTheCloseIsResetAfterTheSendTimeout() throws Exception {
        assertStalledVisitorIsReset("GET /download?" + BODY + " HTTP/1.0\r\nHost: send.test\r\n\r\n");
    }

    @Test
    void aVisitorThatReadsSlowlyButSteadilyGetsTheWholeAnswer() throws Exception {
        try (RawHttp http = new RawHttp(proxy.port(), null, 4 * 1024)) {
            http.send("GET /download?" + BODY + " HTTP/1.1\r\nHost: send.test\r\n\r\n");
            InputStream in = http.in();
            ByteArrayOutputStream received = new ByteArrayOutputStream();
            long from = System.nanoTime();
            // 1 KiB every 50 ms: about 2.5 s for the answer, more than twice the send timeout, never a stall of it.
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50)).until(() -> {
                byte[] piece = in.readNBytes(Math.min(in.available(), 1024));
                received.write(piece);
                return bodyOf(received).length >= BODY;
            });
            assertThat(Duration.ofNanos(System.nanoTime() - from)).isGreaterThan(SEND_TIMEOUT.multipliedBy(2));
            assertWholeBody(received);
            // Kept alive: the next request is answered on the same connection.
            RawHttp.Response next = http.get("send.test", "/download?10");
            assertThat(next.status()).isEqualTo(200);
            assertThat(next.body()).hasSize(10);
        }
    }

    private void assertStalledVisitorIsReset(String request) throws Exception {
        try (RawHttp http = new RawHttp(proxy.port(), null, 4 * 1024)) {
            http.send(request);
            Channel channel = proxy.visitor();
            ProxyHandler handler = channel.pipeline().get(ProxyHandler.class);
            InputStream in = http.in();
            ByteArrayOutputStream received = new ByteArrayOutputStream();
            // The visitor takes at most 1 KiB a poll until the answer has come whole from the target (the exchange is
            // over: kept alive or closing) while part of it still waits in the proxy for the visitor. (A visitor that
            // stops reading while the body still comes: BodyStallTimeoutsTest.)
            await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20)).until(() -> {
                received.write(in.readNBytes(Math.min(in.available(), 1024)));
                return onLoop(channel, () -> (handler.awaitsRequest() || channel.pipeline().names().contains("lingering-close"))
                        && unwritten(channel) > 0);
            });

            // Then it takes nothing: the proxy gives up on it after the send timeout (looked at every second).
            long stalledFrom = System.nanoTime();
            await().atMost(Duration.ofSeconds(10)).until(() -> !channel.isActive());
            assertThat(Duration.ofNanos(System.nanoTime() - stalledFrom)).isGreaterThanOrEqualTo(SEND_TIMEOUT);

            assertThatThrownBy(() -> readToEnd(in, received))
                    .as("a reset, not a clean end, after %d bytes", received.size())
                    .isInstanceOf(SocketException.class).hasMessageContaining("reset");
            assertThat(bodyOf(received).length).as("body bytes before the reset").isLessThan(BODY);
        }
    }

    /** Reads until EOF or an error, bounded by the socket's read timeout and the size of the answer. */
    private static void readToEnd(InputStream in, ByteArrayOutputStream into) throws IOException {
        byte[] buffer = new byte[8192];
        for (int reads = 0; reads < 10_000; reads++) {
            int n = in.read(buffer);
            if (n < 0) {
                return;
            }
            into.write(buffer, 0, n);
        }
    }

    private static byte[] bodyOf(ByteArrayOutputStream received) {
        byte[] all = received.toByteArray();
        int headEnd = received.toString(StandardCharsets.ISO_8859_1).indexOf("\r\n\r\n");
        return headEnd < 0 ? new byte[0] : Arrays.copyOfRange(all, headEnd + 4, all.length);
    }

    private static void assertWholeBody(ByteArrayOutputStream received) {
        String text = received.toString(StandardCharsets.ISO_8859_1);
        int headEnd = text.indexOf("\r\n\r\n");
        assertThat(text.substring(0, headEnd).toLowerCase(Locale.ROOT)).startsWith("http/1.1 200")
                .contains("content-length: " + BODY);
        byte[] body = bodyOf(received);
        assertThat(body.length).isEqualTo(BODY);
        for (int i = 0; i < BODY; i++) {
            assertThat(body[i]).as("byte %d", i).isEqualTo(TargetServer.patternByte(i));
        }
    }
}
