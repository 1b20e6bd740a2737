package io.picotunnel.server.e2e;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A visitor that pipelines requests and then ends its side (shutdown(SHUT_WR), as {@code printf ... | nc -N} does)
 * gets every request it sent whole answered, in order, then the end of the connection: also when its FIN comes while
 * the first answer streams, and over TLS when it shuts the socket without close_notify. A FIN within a pipelined
 * request's head or body still has the requests before it answered; the cut one reaches the target only when it is
 * longer than what the proxy reads ahead, and is then aborted. Real server, our client in process, a socket target,
 * raw visitor sockets.
 */
class PipelinedHalfCloseEndToEndTest {

    private static final String HOST = "pipelined.test";
    /** The answer to {@code /big}: far more than the buffers between the proxy and a visitor that does not read hold. */
    private static final int BIG = 8 * 1024 * 1024;
    /** What {@code /stream} sends after its first chunk, once the test lets it. */
    private static final int STREAM_REST = 4 * 1024 * 1024;
    private static final String FIRST_CHUNK = "first";
    /**
     * An upload's announced length: more than the proxy reads ahead behind a request (8 messages of 8 KiB at most,
     * and the raw bytes of the last socket read, 64 KiB at most).
     */
    private static final int LONG_UPLOAD = 1024 * 1024;

    @TempDir
    Path dataDir;

    private HalfCloseBed bed;
    private Target target;

    @BeforeEach
    void start() throws IOException {
        target = new Target();
        bed = new HalfCloseBed(dataDir, HOST, "pipelined", target.port());
    }

    @AfterEach
    void stop() throws IOException {
        bed.close();
        target.close();
    }

    /** Over which listener the visitor comes: plain HTTP, or TLS it ends without close_notify. */
    enum Over { HTTP, HTTPS }

    @ParameterizedTest
    @EnumSource(Over.class)
    void threePipelinedRequestsThenHalfCloseAreAllAnsweredThenEof(Over over) throws Exception {
        try (Visitor visitor = connect(over)) {
            InputStream in = visitor.pipelineThenHalfClose(get("/small?1") + get("/small?2") + get("/small?3"));

            smallAnswers(in, 3);
            assertThat(in.read()).as("the end of the connection after the answers").isEqualTo(-1);
        }
    }

    @ParameterizedTest
    @EnumSource(Over.class)
    void pipelinedRequestsBehindALargeAnswerThenHalfCloseAreAllAnsweredThenEof(Over over) throws Exception {
        try (Visitor visitor = connect(over)) {
            InputStream in = visitor.pipelineThenHalfClose(get("/big") + get("/small"));

            // Nothing read yet: the big answer waits at the proxy and on the way, the small request behind it.
            await().atMost(20, TimeUnit.SECONDS).until(() -> target.bigWritten() >= BIG / 4);

            assertThat(FaultTarget.readHead(in)).containsEntry("status", "200")
                    .containsEntry("content-length", Integer.toString(BIG));
            patternBody(in, BIG);
            smallAnswers(in, 1);
            assertThat(in.read()).as("the end of the connection after the answers").isEqualTo(-1);
            assertThat(target.requestLines()).containsExactly("GET /big HTTP/1.1", "GET /small HTTP/1.1");
        }
    }

    /**
     * The FIN comes while the first answer streams, with a whole request behind it: a visitor done sending, not one
     * that left, so the answer goes on and the request behind is answered too.
     */
    @ParameterizedTest
    @EnumSource(Over.class)
    void halfCloseWhileTheFirstAnswerStreamsStillAnswersTheRequestBehindIt(Over over) throws Exception {
        try (Visitor visitor = connect(over)) {
            InputStream in = visitor.pipeline(get("/stream") + get("/small"));

            halfCloseWhileTheFirstAnswerStreamsThenItsRest(visitor, in);
            smallAnswers(in, 1);
            assertThat(in.read()).as("the end of the connection after the answers").isEqualTo(-1);
            assertThat(target.requestLines()).containsExactly("GET /stream HTTP/1.1", "GET /small HTTP/1.1");
        }
    }

    /**
     * As with a GET before it, the FIN coming while the answer to an upload streams, with a whole request behind that
     * upload: both are answered, in order, then the connection ends (nginx answers every request it read whole before
     * the FIN). The upload short enough to be read with the request behind it and the FIN: the FIN comes while the
     * answer streams, with the request behind already decoded. The upload longer than what the proxy reads ahead: the
     * reading stops with the request behind it waiting, and the FIN is read only once that request is the current one.
     */
    @ParameterizedTest(name = "{0} over {1}")
    @MethodSource("uploadsWithARequestBehind")
    void halfCloseWhileTheAnswerToAnUploadStreamsStillAnswersTheRequestBehindIt(int bodyLength, Over over)
            throws Exception {
        try (Visitor visitor = connect(over)) {
            InputStream in = visitor.pipeline("POST /stream HTTP/1.1\r\nHost: " + HOST + "\r\nContent-Length: "
                    + bodyLength + "\r\n\r\n" + "x".repeat(bodyLength) + get("/small"));

            halfCloseWhileTheFirstAnswerStreamsThenItsRest(visitor, in);
            smallAnswers(in, 1);
            assertThat(in.read()).as("the end of the connection after the answers").isEqualTo(-1);
            assertThat(target.requestLines()).containsExactly("POST /stream HTTP/1.1", "GET /small HTTP/1.1");
        }
    }

    static Stream<Arguments> uploadsWithARequestBehind() {
        return Stream.of(Over.values()).flatMap(over -> Stream.of(Arguments.of(5, over),
                Arguments.of(LONG_UPLOAD / 4, over)));
    }

    /**
     * The FIN within the body of the only request, already on its way up: the target must not take the part that
     * came for the whole body. nginx logs "client prematurely closed connection" (a 400 in its access log), ends the
     * upstream request and closes the connection without an answer; so does the proxy. The target sees its stream end
     * before the announced length, and the visitor the end of the connection.
     */
    @ParameterizedTest
    @EnumSource(Over.class)
    void halfCloseWithinTheOnlyUploadsBodyEndsItsStreamCutNotWhole(Over over) throws Exception {
        try (Visitor visitor = connect(over)) {
            InputStream in = visitor.pipeline("POST /count HTTP/1.1\r\nHost: " + HOST
                    + "\r\nContent-Length: 100000\r\n\r\n" + "x".repeat(1000));
            await().atMost(10, TimeUnit.SECONDS).until(() -> target.countedSoFar() >= 1000);

            visitor.halfClose();

            await().atMost(10, TimeUnit.SECONDS).until(() -> target.counted().size() == 1);
            assertThat(target.counted()).as("what the target read of the body before its stream ended, and how it ended")
                    .singleElement().asString().matches("1000 of 100000(, reset)?");
            assertThat(end(in)).as("what the visitor gets").isIn("eof", "reset");
        }
    }

    /**
     * The FIN was read with the cut upload, so the connection closes only once all it sent was read: an EOF, not a
     * reset.
     */
    @ParameterizedTest
    @EnumSource(Over.class)
    void halfCloseWithinTheSecondRequestsBodyAnswersTheFirstThenEnds(Over over) throws Exception {
        try (Visitor visitor = connect(over)) {
            InputStream in = visitor.pipelineThenHalfClose(get("/small") + "POST /upload HTTP/1.1\r\nHost: " + HOST
                    + "\r\nContent-Length: 100\r\n\r\n0123456789");

            smallAnswers(in, 1);
            assertThat(end(in)).as("what follows the first answer").isEqualTo("eof");
            await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3))
                    .until(() -> target.requestLines().equals(List.of("GET /small HTTP/1.1")));
        }
    }

    /**
     * An empty line after the only request (RFC 9112 2.2: a server ignores it; clients send one after a POST body)
     * is no request behind it: a FIN during that request's streamed answer aborts the exchange, as with no line.
     */
    @Test
    void halfCloseWhileTheOnlyAnswerStreamsAbortsTheExchangeAlsoAfterAStrayEmptyLine() throws Exception {
        try (Visitor visitor = connect(Over.HTTP)) {
            InputStream in = visitor.pipeline(get("/stream") + "\r\n");
            firstChunk(in);

            visitor.halfClose();

            await().atMost(5, TimeUnit.SECONDS).until(() -> bed.openTunnelRequests() == 0);
            assertThat(end(in)).as("what follows the first chunk").isIn("eof", "reset");
        }
    }

    /**
     * The start of a request behind the streaming answer, then the FIN: a visitor done sending, as with a request cut
     * within its body, not one that left. The answer goes on whole, the cut request is not answered, and the
     * connection ends.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cutPipelinedRequests")
    void halfCloseWithinAPipelinedRequestsHeadWhileTheFirstAnswerStreamsAnswersTheFirstThenEnds(String cut,
            String sent, String answered) throws Exception {
        try (Visitor visitor = connect(Over.HTTP)) {
            InputStream in = visitor.pipeline(sent);

            halfCloseWhileTheFirstAnswerStreamsThenItsRest(visitor, in);
            assertThat(end(in)).as("what follows the first answer").isEqualTo("eof");
            assertThat(target.requestLines()).containsExactly(answered);
        }
    }

    static Stream<Arguments> cutPipelinedRequests() {
        String post = "POST /stream HTTP/1.1\r\nHost: " + HOST;
        return Stream.of(
                Arguments.of("within the request line", get("/stream") + "GET /small HTT", "GET /stream HTTP/1.1"),
                Arguments.of("within a header line", get("/stream") + "GET /small HTTP/1.1\r\nHost: pipel",
                        "GET /stream HTTP/1.1"),
                Arguments.of("between two header lines", get("/stream") + "GET /small HTTP/1.1\r\nHost: " + HOST
                        + "\r\nAccept: */*\r\n", "GET /stream HTTP/1.1"),
                Arguments.of("within the request line, in the read that ends the body before it",
                        post + "\r\nContent-Length: 5\r\n\r\nhelloGET /small HTT", "POST /stream HTTP/1.1"),
                // A chunked body ends with the empty line after its last chunk.
                Arguments.of("within the request line, in the read that ends the chunked body before it",
                        post + "\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /small HTT",
                        "POST /stream HTTP/1.1"),
                Arguments.of("within a header line, in the read that ends the body before it",
                        post + "\r\nContent-Length: 5\r\n\r\nhelloGET /small HTTP/1.1\r\nHo",
                        "POST /stream HTTP/1.1"));
    }

    /**
     * An upload pipelined behind a streaming answer, cut by the FIN, and longer than what the proxy reads ahead: the
     * reading stops with the FIN still unread, so the upload goes up once the first answer is done, as the request
     * being handled, and the FIN then read aborts it. The visitor gets the first answer whole, then the end.
     */
    @Test
    void halfCloseWithinALongPipelinedUploadAnswersTheFirstThenAbortsTheUploadOnceItWentUp() throws Exception {
        try (Socket visitor = bed.connect()) {
            OutputStream out = visitor.getOutputStream();
            CompletableFuture<Void> sent = CompletableFuture.runAsync(() -> {
                try {
                    out.write((get("/stream") + "POST /upload HTTP/1.1\r\nHost: " + HOST + "\r\nContent-Length: "
                            + LONG_UPLOAD + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.write(new byte[LONG_UPLOAD / 5]);
                    visitor.shutdownOutput();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }, Thread::startVirtualThread);
            InputStream in = new BufferedInputStream(visitor.getInputStream());
            firstChunk(in);
            sent.get(10, TimeUnit.SECONDS);

            target.streamOn();
            patternBody(new ByteArrayInputStream(chunkedRest(in)), STREAM_REST);
            assertThat(end(in)).as("what follows the first answer").isIn("eof", "reset");
            await().atMost(5, TimeUnit.SECONDS).until(() -> bed.openTunnelRequests() == 0);
            assertThat(target.requestLines()).containsExactly("GET /stream HTTP/1.1", "POST /upload HTTP/1.1");
        }
    }

    private static String get(String path) {
        return "GET " + path + " HTTP/1.1\r\nHost: " + HOST + "\r\n\r\n";
    }

    private Visitor connect(Over over) throws IOException {
        if (over == Over.HTTP) {
            Socket plain = bed.connect();
            return new Visitor(plain, plain);
        }
        Socket tcp = bed.connectHttps();
        return new Visitor(tcp, bed.tls(tcp));
    }

    /**
     * A visitor's connection: {@code tcp} the socket, {@code app} what it speaks HTTP on ({@code tcp} itself, or TLS
     * over it). Its half-close shuts {@code tcp}'s output: over TLS, no close_notify.
     */
    private record Visitor(Socket tcp, Socket app) implements AutoCloseable {

        /** Writes {@code requests} at once; the answers' stream. */
        InputStream pipeline(String requests) throws IOException {
            OutputStream out = app.getOutputStream();
            out.write(requests.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            return new BufferedInputStream(app.getInputStream());
        }

        InputStream pipelineThenHalfClose(String requests) throws IOException {
            InputStream in = pipeline(requests);
            halfClose();
            return in;
        }

        void halfClose() throws IOException {
            tcp.shutdownOutput();
        }

        @Override
        public void close() throws IOException {
            try (tcp) {
                app.close();
            }
        }
    }

    private static void smallAnswers(InputStream in, int count) throws IOException {
        for (int i = 0; i < count; i++) {
            assertThat(FaultTarget.readHead(in)).as("answer %d", i + 1).containsEntry("status", "200");
            assertThat(new String(in.readNBytes(2), StandardCharsets.US_ASCII)).isEqualTo("ok");
        }
    }

    /**
     * The first chunk of the answer to {@code /stream}, then the FIN, which leaves the exchange open (an abort would
     * end it within milliseconds, the proxy reading the FIN at once), then the rest of that answer.
     */
    private void halfCloseWhileTheFirstAnswerStreamsThenItsRest(Visitor visitor, InputStream in) throws IOException {
        firstChunk(in);

        visitor.halfClose();

        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3))
                .until(() -> bed.openTunnelRequests() == 1);
        target.streamOn();
        patternBody(new ByteArrayInputStream(chunkedRest(in)), STREAM_REST);
    }

    /** The head of the answer to {@code /stream} and its first chunk. */
    private static void firstChunk(InputStream in) throws IOException {
        assertThat(FaultTarget.readHead(in)).containsEntry("status", "200");
        assertThat(FaultTarget.readLine(in)).as("the first chunk's size").isEqualTo(Integer.toHexString(FIRST_CHUNK.length()));
        assertThat(FaultTarget.readLine(in)).isEqualTo(FIRST_CHUNK);
    }

    /** The rest of a chunked body up to its last chunk, whatever the chunks the proxy cut it into. */
    private static byte[] chunkedRest(InputStream in) throws IOException {
        ByteArrayOutputStream rest = new ByteArrayOutputStream();
        for (int chunk = 0; chunk <= STREAM_REST; chunk++) {
            String size = FaultTarget.readLine(in);
            assertThat(size).as("a chunk's size").isNotNull();
            int length = Integer.parseInt(size, 16);
            if (length == 0) {
                assertThat(FaultTarget.readLine(in)).as("the end of the body").isEmpty();
                return rest.toByteArray();
            }
            rest.write(in.readNBytes(length));
            assertThat(FaultTarget.readLine(in)).as("the end of a chunk").isEmpty();
        }
        throw new AssertionError("more chunks than bytes");
    }

    /** How the connection goes on: "eof", "reset" or "data". */
    private static String end(InputStream in) throws IOException {
        try {
            return in.read() == -1 ? "eof" : "data";
        } catch (SocketException e) {
            return "reset";
        }
    }

    private static void patternBody(InputStream in, int size) throws IOException {
        byte[] body = in.readNBytes(size);
        assertThat(body.length).isEqualTo(size);
        for (int i = 0; i < size; i++) {
            if (body[i] != FaultTarget.patternByte(i)) {
                throw new AssertionError("body byte " + i + " differs");
            }
        }
    }

    /**
     * {@code /small}: "ok"; {@code /big}: {@link #BIG} pattern bytes with Content-Length, written as fast as the
     * connection takes them; {@code /stream}: chunked, a first chunk, then once the test says so {@link #STREAM_REST}
     * pattern bytes as one chunk and the end. Any other request (an upload) is read until its stream ends.
     */
    private static final class Target extends RoutedTarget {
        private final Queue<String> requestLines = new ConcurrentLinkedQueue<>();
        private final CountDownLatch streamOn = new CountDownLatch(1);
        private final AtomicLong bigWritten = new AtomicLong();
        private final Queue<String> counted = new ConcurrentLinkedQueue<>();
        private final AtomicLong countedSoFar = new AtomicLong();

        Target() throws IOException {
            super("pipelined-target");
        }

        List<String> requestLines() {
            return List.copyOf(requestLines);
        }

        long bigWritten() {
            return bigWritten.get();
        }

        /** For each {@code /count} upload: the bytes of its body read before its end, and its announced length. */
        List<String> counted() {
            return List.copyOf(counted);
        }

        long countedSoFar() {
            return countedSoFar.get();
        }

        void streamOn() {
            streamOn.countDown();
        }

        @Override
        void requestLineRead(String requestLine) {
            requestLines.add(requestLine);
        }

        @Override
        boolean answer(String requestLine, long length, Socket socket, InputStream in, OutputStream out)
                throws IOException, InterruptedException {
            if (requestLine.startsWith("GET /small")) {
                out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.US_ASCII));
                out.flush();
            } else if (requestLine.startsWith("GET /big ")) {
                out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + BIG + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                writePattern(out, BIG, true);
            } else if (requestLine.startsWith("GET /stream ")) {
                stream(out);
            } else if (requestLine.startsWith("POST /count ")) {
                long read = 0;
                String end = "";
                try {
                    while (read < length && in.read() >= 0) {
                        countedSoFar.set(++read);
                    }
                } catch (IOException e) {
                    end = ", reset";
                }
                counted.add(read + " of " + length + end);
                return false;
            } else if (requestLine.startsWith("POST /stream ")) {
                if (length > 0) {
                    in.readNBytes((int) length);
                } else {
                    skipChunkedBody(in);
                }
                stream(out);
            } else {
                in.transferTo(OutputStream.nullOutputStream());
                return false;
            }
            return true;
        }

        private void stream(OutputStream out) throws IOException, InterruptedException {
            out.write(("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + Integer.toHexString(FIRST_CHUNK.length())
                    + "\r\n" + FIRST_CHUNK + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            if (!streamOn.await(30, TimeUnit.SECONDS)) {
                return;
            }
            out.write((Integer.toHexString(STREAM_REST) + "\r\n").getBytes(StandardCharsets.US_ASCII));
            writePattern(out, STREAM_REST, false);
            out.write("\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
        }

        /** Reads up to a chunked body's end, {@code 0 CRLF CRLF} (the tests' bodies have no trailers). */
        private static void skipChunkedBody(InputStream in) throws IOException {
            byte[] end = "0\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
            byte[] last = new byte[end.length];
            for (int b = in.read(), n = 0; b >= 0 && n < 1024 * 1024; b = in.read(), n++) {
                System.arraycopy(last, 1, last, 0, last.length - 1);
                last[last.length - 1] = (byte) b;
                if (Arrays.equals(last, end)) {
                    return;
                }
            }
        }

        private void writePattern(OutputStream out, int size, boolean counted) throws IOException {
            byte[] chunk = new byte[64 * 1024];
            for (int sent = 0; sent < size; sent += chunk.length) {
                for (int i = 0; i < chunk.length; i++) {
                    chunk[i] = FaultTarget.patternByte(sent + i);
                }
                out.write(chunk);
                if (counted) {
                    bigWritten.addAndGet(chunk.length);
                }
            }
            out.flush();
        }

        @Override
        public void close() throws IOException {
            streamOn.countDown();
            super.close();
        }
    }
}
