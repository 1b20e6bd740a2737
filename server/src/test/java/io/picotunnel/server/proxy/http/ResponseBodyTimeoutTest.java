package io.picotunnel.server.proxy.http;

import io.picotunnel.server.config.Setting;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A response body the target stops sending for the proxy timeout (1 s here) is cut, never completed: a target that
 * sends a head and then nothing would otherwise hold the visitor's connection, the stream and the client's connection
 * to the target for as long as it keeps its socket open. (A visitor that stops reading is the send timeout's:
 * {@link BodyStallTimeoutsTest}.)
 */
class ResponseBodyTimeoutTest {

    private static final String HOST = "slow.test";
    private static final Duration WAIT = Duration.ofSeconds(15);

    @TempDir
    Path dataDir;
    private TunnelFixture tunnel;
    private KeepAliveTarget target;

    @BeforeEach
    void start() throws Exception {
        tunnel = new TunnelFixture(dataDir, Map.of(Setting.PROXY_TIMEOUT, "1s"));
        target = new KeepAliveTarget();
        tunnel.addService(HOST, "/", target.address(), false);
    }

    @AfterEach
    void stop() throws IOException {
        tunnel.close();
        target.close();
    }

    @Test
    void aBodyTheTargetStopsSendingIsCutShortOfItsLength() throws Exception {
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            http.send("GET /stall HTTP/1.1\r\nHost: " + HOST + "\r\n\r\n");
            assertThat(http.line()).startsWith("HTTP/1.1 200");
            assertThat(headersOf(http)).contains("content-length: 100");
            byte[] body = readUntilClosed(http.in());
            assertThat(new String(body, StandardCharsets.US_ASCII)).isEqualTo("0123456789");
        }
        await().atMost(WAIT).until(() -> target.ended() == 1);
        assertThat(tunnel.idleUpstreams()).as("the cut stream is not kept for reuse").isZero();
    }

    @Test
    void aChunkedBodyTheTargetStopsSendingEndsWithoutItsLastChunk() throws Exception {
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            http.send("GET /stall-chunked HTTP/1.1\r\nHost: " + HOST + "\r\n\r\n");
            assertThat(http.line()).startsWith("HTTP/1.1 200");
            assertThat(headersOf(http)).contains("transfer-encoding: chunked");
            String rest = new String(readUntilClosed(http.in()), StandardCharsets.US_ASCII);
            assertThat(rest).startsWith("a\r\n0123456789\r\n").doesNotContain("0\r\n\r\n");
        }
        await().atMost(WAIT).until(() -> target.ended() == 1);
    }

    /**
     * Each piece comes 1 s sooner than the timeout (2 s here: a loaded machine's pause of a second does not cut it),
     * and the whole body, 4 s in all, arrives.
     */
    @Test
    void aBodyThatKeepsMovingArrivesWholeHoweverLongItTakesInAll() throws Exception {
        tunnel = tunnel.restartWithPacedProxyTimeout(dataDir);
        tunnel.addService(HOST, "/", target.address(), false);
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            RawHttp.Response response = http.get(HOST, "/trickle");
            assertThat(response.status()).isEqualTo(200);
            assertThat(response.text()).isEqualTo("0123");
            assertThat(http.get(HOST, "/ok").text()).as("the connection goes on").isEqualTo("conn=1");
        }
    }

    private static String headersOf(RawHttp http) throws IOException {
        StringBuilder headers = new StringBuilder();
        String line;
        while (!(line = http.line()).isEmpty()) {
            headers.append(line.toLowerCase()).append('\n');
        }
        return headers.toString();
    }

    /** Everything until EOF or reset; a read timeout (RawHttp's 20 s) fails the test: the response was never cut. */
    private static byte[] readUntilClosed(InputStream in) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        drainUntilClosed(in, bytes);
        return bytes.toByteArray();
    }

    private static long countUntilClosed(InputStream in) throws IOException {
        return drainUntilClosed(in, OutputStream.nullOutputStream());
    }

    private static long drainUntilClosed(InputStream in, OutputStream sink) throws IOException {
        long count = 0;
        byte[] buffer = new byte[256 * 1024];
        try {
            int n;
            while ((n = in.read(buffer)) != -1) {
                sink.write(buffer, 0, n);
                count += n;
            }
        } catch (SocketTimeoutException e) {
            throw new AssertionError("the response was neither completed nor cut: " + count + " bytes", e);
        } catch (IOException reset) {
            // a reset is a cut too
        }
        return count;
    }
}
