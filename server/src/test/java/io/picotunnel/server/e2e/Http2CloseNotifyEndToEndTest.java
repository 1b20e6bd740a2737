package io.picotunnel.server.e2e;

import io.picotunnel.protocol.yamux.YamuxSession;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * An HTTP/2 visitor that ends its TLS output (close_notify) while the answer to its request streams: as at a FIN, the
 * server closes the connection, the stream's exchange ends without the rest of the answer, and the stream up the
 * tunnel is released, rather than the answer going on to a visitor that can no longer open the stream's window. No
 * GOAWAY comes first: the server's TLS library (BoringSSL) answers close_notify with its own, after which it encrypts
 * nothing more. Real server, our client in process, a socket target, a visitor writing HTTP/2 frames by hand.
 */
class Http2CloseNotifyEndToEndTest {

    private static final String HOST = "stream.test";

    @TempDir
    Path dataDir;

    private StreamingTarget target;
    private HttpsHostTunnel tunnel;

    @BeforeEach
    void start() throws IOException {
        target = new StreamingTarget();
        tunnel = new HttpsHostTunnel(dataDir, Map.of(), HOST, UnaryOperator.identity(), target::close, target.port());
    }

    @AfterEach
    void stop() throws IOException {
        if (tunnel != null) {
            tunnel.close();
        }
    }

    @Test
    void closeNotifyWhileAnAnswerStreamsEndsTheConnectionTheExchangeAndItsTunnelStream() throws Exception {
        try (RawHttp2Visitor visitor = tunnel.visitor()) {
            visitor.get(1, "/stream");
            visitor.awaitRead("the stream's first part", Duration.ofSeconds(10),
                    () -> visitor.body(1).length() >= StreamingTarget.FIRST_PART);
            assertThat(visitor.status(1)).isEqualTo("200");
            YamuxSession session = tunnel.server().registry().connections(tunnel.id).getFirst().session();
            assertThat(session.activeStreams()).isEqualTo(1);

            visitor.sendCloseNotify();
            visitor.awaitClosedByServer(Duration.ofSeconds(10));
            assertThat(visitor.endOfStream(1)).as("the answer, cut, looks complete").isFalse();
            await().atMost(10, TimeUnit.SECONDS).until(target::cutByTheProxy);
            await().atMost(10, TimeUnit.SECONDS).until(() -> session.activeStreams() == 0);
        }
    }

    /**
     * Answers its one request with the head of a long body and its first part, then sends nothing more and waits for
     * the proxy's end of the connection.
     */
    private static final class StreamingTarget implements AutoCloseable {
        static final int FIRST_PART = 1000;
        private final ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        private volatile boolean cut;

        StreamingTarget() throws IOException {
            Thread.ofVirtual().name("streaming-target").start(this::serveOne);
        }

        int port() {
            return server.getLocalPort();
        }

        boolean cutByTheProxy() {
            return cut;
        }

        private void serveOne() {
            try (Socket socket = server.accept()) {
                socket.setSoTimeout(60_000);
                InputStream in = new BufferedInputStream(socket.getInputStream());
                Uploads.readContentLength(in); // the head, to its empty line
                OutputStream out = socket.getOutputStream();
                out.write(("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + "x".repeat(FIRST_PART))
                        .getBytes(StandardCharsets.US_ASCII));
                out.flush();
                cut = in.read() < 0;
            } catch (IOException e) {
                cut = true; // a reset
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }
}
