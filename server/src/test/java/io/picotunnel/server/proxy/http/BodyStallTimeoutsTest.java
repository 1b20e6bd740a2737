package io.picotunnel.server.proxy.http;

import io.picotunnel.server.config.Setting;
import io.picotunnel.testkit.HttpHead;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.net.SocketException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * While a response body streams, each timeout counts only its own side's stall, as nginx's do: the send timeout the
 * visitor's (the proxy waits on it: reading from the target is paused by backpressure), the proxy timeout the
 * target's (the proxy could read on). The body is 64 MiB written by the target as fast as it is taken: more than all
 * the socket buffers and stream windows between them hold. (A target silent mid-body: {@link ResponseBodyTimeoutTest}.)
 */
class BodyStallTimeoutsTest {

    private static final String HOST = "big.test";
    private static final long BODY = 64L * 1024 * 1024;

    @TempDir
    Path dataDir;
    private KeepAliveTarget target;
    private TunnelFixture tunnel;

    @BeforeEach
    void startTarget() throws IOException {
        target = new KeepAliveTarget();
    }

    @AfterEach
    void stop() throws IOException {
        if (tunnel != null) {
            tunnel.close();
        }
        target.close();
    }

    /** Before, the visitor was cut only after the proxy timeout (30 s here). */
    @Test
    void aVisitorThatStopsReadingMidBodyIsResetAfterTheSendTimeoutThoughTheProxyTimeoutIsLong() throws Exception {
        start("30s", "1s");
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            http.send("GET /big HTTP/1.1\r\nHost: " + HOST + "\r\n\r\n");
            assertThat(HttpHead.read(http.in())).startsWith("HTTP/1.1 200");
            InputStream in = http.in();
            assertThat(in.readNBytes(1024 * 1024)).hasSize(1024 * 1024);

            // Then it reads nothing: the exchange ends (the target's connection with it) after about the send timeout.
            await().atMost(Duration.ofSeconds(10)).until(() -> target.ended() == 1);
            long[] received = {1024 * 1024};
            assertThatThrownBy(() -> received[0] += readToEnd(in))
                    .as("a reset, not a clean end, after %d bytes", received[0])
                    .isInstanceOf(SocketException.class).hasMessageContaining("reset");
            assertThat(received[0]).isLessThan(BODY);
        }
    }

    /**
     * The visitor takes 16 MiB, pauses 1.5 s (more than the proxy timeout of 1 s, less than the send timeout), three
     * times: while it pauses the proxy waits on it, not on the target, so the body arrives whole. Before, every pause
     * counted against the proxy timeout and the body was cut at the first.
     */
    @Test
    void aVisitorReadingABigBodyWithPausesLongerThanTheProxyTimeoutGetsItWhole() throws Exception {
        start("1s", "30s");
        Duration pause = Duration.ofMillis(1500);
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            http.send("GET /big HTTP/1.1\r\nHost: " + HOST + "\r\n\r\n");
            assertThat(HttpHead.read(http.in())).startsWith("HTTP/1.1 200");
            InputStream in = http.in();
            long received = 0;
            for (int piece = 0; piece < 4; piece++) {
                if (piece > 0) {
                    // A deliberate stall of the visitor, not a wait for a condition.
                    await().pollDelay(pause).atMost(pause.plusSeconds(5)).until(() -> true);
                }
                received += in.readNBytes((int) (BODY / 4)).length;
            }
            assertThat(received).isEqualTo(BODY);
            // Kept alive: the connection takes the next request.
            assertThat(http.get(HOST, "/ok").status()).isEqualTo(200);
        }
        assertThat(target.ended()).isZero();
    }

    private void start(String proxyTimeout, String sendTimeout) throws Exception {
        tunnel = new TunnelFixture(dataDir, Map.of(Setting.PROXY_TIMEOUT, proxyTimeout,
                Setting.SEND_TIMEOUT, sendTimeout));
        tunnel.addService(HOST, "/", target.address(), false);
    }

    /** Bytes until EOF; a reset throws. Bounded by the body's size and the socket's read timeout (20 s). */
    private static long readToEnd(InputStream in) throws IOException {
        byte[] buffer = new byte[256 * 1024];
        long count = 0;
        for (int reads = 0; reads < 100_000; reads++) {
            int n = in.read(buffer);
            if (n < 0) {
                break;
            }
            count += n;
        }
        return count;
    }
}
