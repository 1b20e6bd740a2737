package io.picotunnel.server.api;

import io.picotunnel.server.net.LimitedBody;
import io.picotunnel.server.net.PacedBody;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
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
            byte[] chunk = (Integer.toHexString(CHUNK) + "\r\n" + " ".repeat(CHUNK) + "\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1);
            PacedBody body = new PacedBody(chunk, PACE, BODY / CHUNK, 100_000, Duration.ofSeconds(30));
            PacedBody.Outcome outcome = body.send(socket, "POST /api/tunnels HTTP/1.1\r\nHost: localhost\r\n"
                    + "Content-Type: application/json\r\nAuthorization: Bearer " + running.server().adminToken()
                    + "\r\nTransfer-Encoding: chunked\r\n\r\n");
            long sent = outcome.piecesSent() * CHUNK;

            assertThat(outcome.answer()).startsWith("HTTP/1.1 413 ");
            assertThat(outcome.closed()).as("connection closed, %d bytes of the body sent", sent).isTrue();
            assertThat(sent).as("body bytes sent before the connection closed")
                    .isLessThanOrEqualTo(LimitedBody.DROPPED_BYTES + SLACK);
        }
    }
}
