package io.picotunnel.server.e2e;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import javax.net.ssl.SSLSocket;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * An upload the visitor cut short (its FIN, its close or its reset before the body's end) must never reach the target
 * as a whole request: no last chunk the visitor did not send, no clean end after a body of its full length. The target
 * here is a raw socket that keeps every byte it got and how its connection ended, and the proxy must end it with a
 * reset (the tunnel stream reset, the client resetting the target's socket). Real server, our client in process.
 */
class UploadCutEndToEndTest {

    private static final String HOST = "cut.test";
    private static final String HEAD = "POST /upload HTTP/1.1\r\nHost: " + HOST + "\r\n";
    private static final String LAST_CHUNK = "\r\n0\r\n\r\n";

    @TempDir
    Path dataDir;

    private RecordingTarget target;
    private HalfCloseBed bed;

    @BeforeEach
    void start() throws IOException {
        target = new RecordingTarget();
        bed = new HalfCloseBed(dataDir, HOST, "cut", target.port());
    }

    @AfterEach
    void stop() throws IOException {
        bed.close();
        target.close();
    }

    /** How the visitor ends its side of the connection before the body's end. */
    enum VisitorEnd {
        FIN, CLOSE, RESET;

        void apply(Socket visitor) throws IOException {
            switch (this) {
                case FIN -> visitor.shutdownOutput();
                case CLOSE -> visitor.close();
                case RESET -> {
                    visitor.setSoLinger(true, 0);
                    visitor.close();
                }
            }
        }
    }

    /** What of the body the visitor sent before its end; {@code seen} is what the target must have got by then. */
    enum CutBody {
        CONTENT_LENGTH("Content-Length: 100\r\n", "0123456789", "0123456789"),
        CHUNKED_BETWEEN_CHUNKS("Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n", "hello"),
        CHUNKED_MID_CHUNK("Transfer-Encoding: chunked\r\n", "5\r\nhello\r\na\r\nworld", "world"),
        CHUNKED_MID_SIZE_LINE("Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0", "hello");

        final String framing;
        final String sent;
        final String seen;

        CutBody(String framing, String sent, String seen) {
            this.framing = framing;
            this.sent = sent;
            this.seen = seen;
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(VisitorEnd.class)
    void aContentLengthUploadCutShortResetsTheTarget(VisitorEnd end) throws Exception {
        cutAndExpectReset(CutBody.CONTENT_LENGTH, end);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(VisitorEnd.class)
    void aChunkedUploadCutBetweenChunksResetsTheTargetWithoutALastChunk(VisitorEnd end) throws Exception {
        cutAndExpectReset(CutBody.CHUNKED_BETWEEN_CHUNKS, end);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(VisitorEnd.class)
    void aChunkedUploadCutWithinAChunkResetsTheTargetWithoutALastChunk(VisitorEnd end) throws Exception {
        cutAndExpectReset(CutBody.CHUNKED_MID_CHUNK, end);
    }

    /** Cut right after the size line of what would be the last chunk: "0" came, its CRLF and the empty line did not. */
    @ParameterizedTest(name = "{0}")
    @EnumSource(VisitorEnd.class)
    void aChunkedUploadCutWithinTheLastChunksSizeLineResetsTheTargetWithoutALastChunk(VisitorEnd end)
            throws Exception {
        cutAndExpectReset(CutBody.CHUNKED_MID_SIZE_LINE, end);
    }

    /**
     * Over TLS: the visitor's close_notify and close, its FIN without close_notify, or its reset, within a chunk and
     * within a body of announced length.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("tlsCuts")
    void anHttpsUploadCutShortResetsTheTargetWithoutALastChunk(CutBody body, TlsEnd end) throws Exception {
        Socket tcp = bed.connectHttps();
        try {
            SSLSocket tls = bed.tls(tcp);
            OutputStream out = tls.getOutputStream();
            out.write((HEAD + body.framing + "\r\n" + body.sent).getBytes(StandardCharsets.US_ASCII));
            out.flush();
            await().atMost(20, TimeUnit.SECONDS).until(() -> target.received().contains(body.seen));

            end.apply(tls, tcp);

            targetResetWithoutAWholeBody();
        } finally {
            tcp.close();
        }
    }

    static Stream<Arguments> tlsCuts() {
        return Stream.of(CutBody.CONTENT_LENGTH, CutBody.CHUNKED_MID_CHUNK)
                .flatMap(body -> Stream.of(TlsEnd.values()).map(end -> Arguments.of(body, end)));
    }

    /** How a visitor over TLS ends its side before the body's end. */
    enum TlsEnd {
        CLOSE_NOTIFY_AND_CLOSE, FIN, RESET;

        void apply(SSLSocket tls, Socket tcp) throws IOException {
            switch (this) {
                case CLOSE_NOTIFY_AND_CLOSE -> {
                    tls.close(); // close_notify; the socket under it stays open
                    tcp.close();
                }
                case FIN -> tcp.shutdownOutput();
                case RESET -> {
                    tcp.setSoLinger(true, 0);
                    tcp.close();
                }
            }
        }
    }

    private void cutAndExpectReset(CutBody body, VisitorEnd end) throws Exception {
        Socket visitor = bed.connect();
        try {
            OutputStream out = visitor.getOutputStream();
            out.write((HEAD + body.framing + "\r\n" + body.sent).getBytes(StandardCharsets.US_ASCII));
            out.flush();
            await().atMost(20, TimeUnit.SECONDS).until(() -> target.received().contains(body.seen));

            end.apply(visitor);

            targetResetWithoutAWholeBody();
        } finally {
            visitor.close();
        }
    }

    /** HTTP/2, a body of announced length (content-length) cut short, by a reset of its stream or its connection's end. */
    @ParameterizedTest(name = "{0}")
    @EnumSource(Http2End.class)
    void anHttp2UploadCutShortResetsTheTarget(Http2End end) throws Exception {
        try (RawHttp2Visitor visitor = bed.connectHttp2()) {
            visitor.post(1, "/upload", 100);
            visitor.data(1, 10, false);
            await().atMost(20, TimeUnit.SECONDS).until(() -> target.receivedBytes() > 10
                    && target.received().contains("\r\n\r\n"));

            end.apply(visitor);

            targetResetWithoutAWholeBody();
        }
    }

    /** HTTP/2 without content-length: the body goes up chunked, and the cut must not bring its last chunk. */
    @ParameterizedTest(name = "{0}")
    @EnumSource(Http2End.class)
    void anHttp2UploadOfUnknownLengthCutShortResetsTheTargetWithoutALastChunk(Http2End end) throws Exception {
        try (RawHttp2Visitor visitor = bed.connectHttp2()) {
            visitor.postOfUnknownLength(1, "/upload");
            visitor.data(1, 10, false);
            await().atMost(20, TimeUnit.SECONDS).until(() -> target.received().contains("\r\na\r\n"));

            end.apply(visitor);

            targetResetWithoutAWholeBody();
        }
    }

    /**
     * HTTP/2, every byte of a body of announced length sent but no END_STREAM before the visitor's connection ends: the
     * body is not whole until the stream ends, so the target gets all of it but its last byte, then a reset, never a
     * whole request.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(names = {"CONNECTION_CLOSED", "CONNECTION_RESET"})
    void anHttp2UploadOfAllItsBytesWithoutEndStreamResetsTheTargetWhenTheConnectionEnds(Http2End end)
            throws Exception {
        try (RawHttp2Visitor visitor = bed.connectHttp2()) {
            visitor.post(1, "/upload", 100);
            visitor.data(1, 100, false);
            await().atMost(20, TimeUnit.SECONDS).until(() -> bodyBytesReceived() >= 99);

            end.apply(visitor);

            targetResetWithoutAWholeBody();
            assertThat(bodyBytesReceived()).as("body bytes the target got of the 100 its head announced").isEqualTo(99);
        }
    }

    /** Bytes the target got after the request's head, -1 before its end. */
    private int bodyBytesReceived() {
        String received = target.received();
        int headEnd = received.indexOf("\r\n\r\n");
        return headEnd < 0 ? -1 : received.length() - headEnd - 4;
    }

    /** How an HTTP/2 visitor ends its upload early: its stream reset, its connection closed (close_notify, FIN) or reset. */
    enum Http2End {
        RST_STREAM, CONNECTION_CLOSED, CONNECTION_RESET;

        void apply(RawHttp2Visitor visitor) throws IOException {
            switch (this) {
                case RST_STREAM -> visitor.cancel(1);
                case CONNECTION_CLOSED -> visitor.close();
                case CONNECTION_RESET -> visitor.resetConnection();
            }
        }
    }

    private void targetResetWithoutAWholeBody() {
        await().atMost(15, TimeUnit.SECONDS).until(() -> target.end() != null);
        assertThat(target.received()).as("what the target got").doesNotContain(LAST_CHUNK);
        assertThat(target.end()).as("how the target's connection ended, after: " + target.received())
                .isEqualTo("reset");
        await().atMost(10, TimeUnit.SECONDS).until(() -> bed.openStreams() == 0);
    }

    /** Serves one connection: keeps every byte it reads, then how its connection ended ("eof", "reset", ...). */
    private static final class RecordingTarget implements AutoCloseable {
        private final ServerSocket server = new ServerSocket(0, 16, InetAddress.getLoopbackAddress());
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private volatile String end;

        RecordingTarget() throws IOException {
            Thread.ofVirtual().name("cut-upload-target").start(this::serveOne);
        }

        int port() {
            return server.getLocalPort();
        }

        String received() {
            synchronized (bytes) {
                return bytes.toString(StandardCharsets.ISO_8859_1);
            }
        }

        int receivedBytes() {
            synchronized (bytes) {
                return bytes.size();
            }
        }

        String end() {
            return end;
        }

        private void serveOne() {
            try (Socket socket = server.accept()) {
                socket.setSoTimeout(20_000);
                InputStream in = socket.getInputStream();
                byte[] buffer = new byte[4096];
                for (int i = 0; i < 1000; i++) {
                    int n = in.read(buffer);
                    if (n == -1) {
                        end = "eof";
                        return;
                    }
                    synchronized (bytes) {
                        bytes.write(buffer, 0, n);
                    }
                }
                end = "data";
            } catch (SocketTimeoutException e) {
                end = "timeout";
            } catch (IOException e) {
                end = e.getMessage() != null && e.getMessage().contains("reset") ? "reset" : "error: " + e;
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }
}
