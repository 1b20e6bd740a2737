package io.picotunnel.server.api;

import io.picotunnel.server.net.LimitedBody;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A chunked body too large for the management port is read and dropped up to {@link LimitedBody#DROPPED_BYTES} in
 * all, then the connection closes: read by {@link LimitedBody} before its 413, it is not read again once answered.
 */
class ChunkedBodyDropTest {

    private static final int BODY = 3 * 1024 * 1024;
    private static final int CHUNK = 32 * 1024;
    /** The client's pace: one chunk when nothing came for this long, slow enough that the server reads as it comes. */
    private static final Duration PACE = Duration.ofMillis(5);
    /** What the client may have sent beyond what the server read: the socket buffers and the chunk heads. */
    private static final int SLACK = 512 * 1024;

    @RegisterExtension
    final ApiTestServer running = new ApiTestServer();

    @Test
    void aChunkedBodyTooLargeIsReadUpToTheBoundInAllThenTheConnectionCloses() throws IOException {
        try (Socket socket = new Socket()) {
            socket.setSendBufferSize(16 * 1024);
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), running.server().apiPort()), 10_000);
            socket.setSoTimeout((int) PACE.toMillis());
            OutputStream out = socket.getOutputStream();
            out.write(("POST /api/tunnels HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Authorization: Bearer " + running.server().adminToken() + "\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            byte[] chunk = (Integer.toHexString(CHUNK) + "\r\n" + " ".repeat(CHUNK) + "\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1);
            InputStream in = socket.getInputStream();
            ByteArrayOutputStream answer = new ByteArrayOutputStream();
            byte[] buffer = new byte[4096];
            long sent = 0;
            boolean closed = false;
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            for (int i = 0; i < 100_000 && !closed && System.nanoTime() - deadline < 0; i++) {
                try {
                    int n = in.read(buffer);
                    if (n < 0) {
                        closed = true;
                    } else {
                        answer.write(buffer, 0, n);
                    }
                } catch (SocketTimeoutException nothingYet) {
                    if (sent >= BODY) {
                        continue;
                    }
                    try {
                        out.write(chunk);
                        out.flush();
                        sent += CHUNK;
                    } catch (IOException reset) {
                        closed = true;
                    }
                } catch (IOException reset) {
                    closed = true;
                }
            }

            assertThat(answer.toString(StandardCharsets.ISO_8859_1)).startsWith("HTTP/1.1 413 ");
            assertThat(closed).as("connection closed, %d bytes of the body sent", sent).isTrue();
            assertThat(sent).as("body bytes sent before the connection closed")
                    .isLessThanOrEqualTo(LimitedBody.DROPPED_BYTES + SLACK);
        }
    }
}
