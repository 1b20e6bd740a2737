package io.picotunnel.server.e2e;

import io.picotunnel.protocol.net.Transport;
import io.picotunnel.server.config.Setting;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLSocket;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A visitor that ends its side of the connection after its request (shutdown(SHUT_WR), as {@code nc -N} and many
 * scripts do) still gets the whole answer, then the end of the connection; one that half-closes with no request is
 * closed at once. Real server, our client in process, a socket target, raw visitor sockets.
 */
class HalfClosingVisitorEndToEndTest {

    private static final String HOST = "half.test";
    /** Far more than the buffers between the proxy and a visitor that does not read yet hold. */
    private static final int SIZE = 8 * 1024 * 1024;
    /** An upload far longer than the buffers between a visitor and a target that does not read yet hold. */
    private static final long UPLOAD = 64L * 1024 * 1024;
    /** What the target streams of its answer to {@code /upload-then-stream} before it waits. */
    private static final String FIRST_CHUNK = "first";
    /** What the target sends after its 101. */
    private static final String UPGRADED_BYTES = "after the switch";
    /** How soon a visitor's reset after its half-close must have the target reset. */
    private static final Duration AT_ONCE = Duration.ofSeconds(3);
    /** The reset tests' --proxy-timeout: the held exchange would end then otherwise, the target's stream reset too. */
    private static final Duration RESET_PROXY_TIMEOUT = Duration.ofMinutes(2);

    @TempDir
    Path dataDir;

    private HalfCloseBed bed;
    private Target target;

    @BeforeEach
    void start() throws IOException {
        target = new Target();
        bed = new HalfCloseBed(dataDir, HOST, "half-close", target.port());
    }

    @AfterEach
    void stop() throws IOException {
        bed.close();
        target.close();
    }

    @Test
    void visitorThatHalfClosesAfterItsRequestGetsTheWholeLongAnswerThenEof() throws Exception {
        try (Socket visitor = bed.connect()) {
            // Reads nothing at first (wholeLongAnswerThenEof): the answer waits at the proxy and on the way.
            wholeLongAnswerThenEof(requestThenHalfClose(visitor, "/big"));
        }
    }

    /**
     * close_notify ends the TLS session both ways for the server's TLS library (BoringSSL answers it with its own, as
     * TLS 1.2 requires, though TLS 1.3 would allow a half-close): no answer can reach the visitor any more, so the
     * connection ends at once and the target's stream is not kept waiting for the answer.
     */
    @Test
    void httpsVisitorThatSendsCloseNotifyWhileTheTargetIsSlowIsClosedAndTheStreamReleased() throws Exception {
        try (Socket tcp = bed.connectHttps(); SSLSocket tls = bed.tls(tcp)) {
            FaultTarget.writeGet(tls, "HTTP/1.1", HOST, "/slow");
            await().atMost(20, TimeUnit.SECONDS).until(() -> target.slowRequests() == 1);

            tls.shutdownOutput(); // close_notify and the FIN

            tcp.setSoTimeout(10_000); // the proxy timeout (60 s) would end it too, much later
            assertThat(tls.getInputStream().read()).isEqualTo(-1);
            await().atMost(10, TimeUnit.SECONDS).until(() -> bed.openTunnelRequests() == 0);
        }
    }

    /**
     * A FIN without close_notify (a script that shuts its socket down under TLS): the TLS handler passes it on as
     * the end of input, and it is taken as a half-close as over plain HTTP.
     */
    @Test
    void httpsVisitorThatHalfClosesItsSocketWithoutCloseNotifyGetsTheWholeLongAnswerThenEof() throws Exception {
        try (Socket tcp = bed.connectHttps(); SSLSocket tls = bed.tls(tcp)) {
            FaultTarget.writeGet(tls, "HTTP/1.1", HOST, "/big");
            tcp.shutdownOutput();

            wholeLongAnswerThenEof(new BufferedInputStream(tls.getInputStream()));
        }
    }

    private void wholeLongAnswerThenEof(InputStream in) throws IOException {
        await().atMost(20, TimeUnit.SECONDS).until(() -> target.written() >= SIZE / 4 || target.ended());

        Map<String, String> head = FaultTarget.readHead(in);
        assertThat(head).containsEntry("status", "200").containsEntry("content-length", Integer.toString(SIZE));
        byte[] body = in.readNBytes(SIZE);
        assertThat(body.length).isEqualTo(SIZE);
        for (int i = 0; i < SIZE; i++) {
            if (body[i] != pattern(i)) {
                throw new AssertionError("body byte " + i + " differs");
            }
        }
        assertThat(in.read()).as("the end of the connection after the answer").isEqualTo(-1);
    }

    @Test
    void visitorThatHalfClosesWithoutARequestIsClosedAtOnce() throws Exception {
        try (Socket visitor = bed.connect()) {
            visitor.setSoTimeout(5_000); // the header timeout (20 s) would close it too, much later
            visitor.shutdownOutput();

            assertThat(visitor.getInputStream().read()).isEqualTo(-1);
        }
    }

    @Test
    void visitorThatHalfClosesWhileTheTargetIsSlowToAnswerGetsTheAnswerAndTheStreamIsReleased() throws Exception {
        try (Socket visitor = bed.connect()) {
            InputStream in = requestThenHalfClose(visitor, "/slow");
            await().atMost(20, TimeUnit.SECONDS).until(() -> target.slowRequests() == 1);
            assertThat(bed.openTunnelRequests()).isEqualTo(1);

            target.answerSlowRequests();

            assertThat(FaultTarget.readHead(in)).containsEntry("status", "200");
            assertThat(new String(in.readNBytes(5), StandardCharsets.US_ASCII)).isEqualTo("hello");
            assertThat(in.read()).as("the end of the connection after the answer").isEqualTo(-1);
            await().atMost(10, TimeUnit.SECONDS).until(() -> bed.openTunnelRequests() == 0);
        }
    }

    /**
     * A visitor that half-closes after its request and then resets its socket (SO_LINGER 0) while the target is slow
     * to answer: on epoll the reset after the end of input is found at once (QuietWhileIdle reads the socket again at
     * its EPOLLERR), the exchange is aborted and the target's connection reset, long before the server's
     * --proxy-timeout ({@link #RESET_PROXY_TIMEOUT}) or the answer's first write would find it, and the connection
     * no longer counts for its address. On NIO nothing reads the socket again, so only those do.
     */
    @Test
    void visitorThatHalfClosesThenResetsWhileTheTargetIsSlowHasTheTargetResetAtOnce() throws Exception {
        assumeTrue(Transport.isEpoll(), "the epoll transport: on NIO the reset is found at the answer's first write");
        restartBedForResets();
        Socket visitor = bed.connect();
        heldThenResetHasTheTargetResetAtOnce(visitor, () -> requestThenHalfClose(visitor, "/hold"));

        try (Socket again = bed.connect()) {
            smallAnswered(again, again);
        }
    }

    /**
     * The same over TLS, the visitor's FIN without close_notify (which would end the connection at once): the reset is
     * found in front of the TLS handler, and its failure passes through it to the exchange.
     */
    @Test
    void httpsVisitorThatHalfClosesThenResetsWhileTheTargetIsSlowHasTheTargetResetAtOnce() throws Exception {
        assumeTrue(Transport.isEpoll(), "the epoll transport: on NIO the reset is found at the answer's first write");
        restartBedForResets();
        Socket tcp = bed.connectHttps();
        heldThenResetHasTheTargetResetAtOnce(tcp, () -> {
            FaultTarget.writeGet(bed.tls(tcp), "HTTP/1.1", HOST, "/hold");
            tcp.shutdownOutput();
        });

        try (Socket again = bed.connectHttps(); SSLSocket tls = bed.tls(again)) {
            smallAnswered(tls, again);
        }
    }

    /**
     * The bed again, on a server whose --proxy-timeout is {@link #RESET_PROXY_TIMEOUT}, so that nothing but the reset
     * can end the held exchange within {@link #AT_ONCE}, and that takes one connection per address, so that a visitor
     * served after the reset shows the reset connection no longer counts.
     */
    private void restartBedForResets() throws IOException {
        bed.close();
        bed = new HalfCloseBed(dataDir.resolve("resets"), HOST, "half-close", target.port(),
                Map.of(Setting.PROXY_TIMEOUT, RESET_PROXY_TIMEOUT.toSeconds() + "s",
                        Setting.MAX_CONNECTIONS_PER_ADDRESS, "1"));
    }

    /**
     * {@code requestThenHalfClose} sends {@code /hold} and ends the visitor's side; the held request reached the target
     * and the half-close alone keeps its exchange (a visitor may wait), then the visitor's socket {@code tcp} is reset.
     */
    private void heldThenResetHasTheTargetResetAtOnce(Socket tcp, VisitorStep requestThenHalfClose) throws IOException {
        try {
            requestThenHalfClose.run();
            await().atMost(20, TimeUnit.SECONDS).until(() -> target.heldRequests() == 1);
            await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3))
                    .until(() -> bed.openTunnelRequests() == 1 && target.heldEnd() == null);
        } finally {
            tcp.setSoLinger(true, 0);
            tcp.close();
        }

        await().atMost(AT_ONCE).until(() -> target.heldEnd() != null);
        assertThat(target.heldEnd()).as("what the held target read").isEqualTo("reset");
        await().atMost(AT_ONCE).until(() -> bed.openTunnelRequests() == 0);
    }

    private interface VisitorStep {
        void run() throws IOException;
    }

    /** {@code /small} over {@code visitor} (its socket {@code tcp}), answered: the listener admitted the connection. */
    private static void smallAnswered(Socket visitor, Socket tcp) throws IOException {
        tcp.setSoTimeout(10_000);
        FaultTarget.writeGet(visitor, "HTTP/1.1", HOST, "/small");
        InputStream in = new BufferedInputStream(visitor.getInputStream());
        assertThat(FaultTarget.readHead(in)).as("the answer to a visitor from the same address")
                .containsEntry("status", "200");
        assertThat(new String(in.readNBytes(2), StandardCharsets.US_ASCII)).isEqualTo("ok");
    }

    @Test
    void pipelinedRequestsBeforeAHalfCloseAreAllAnsweredThenEof() throws Exception {
        try (Socket visitor = bed.connect()) {
            OutputStream out = visitor.getOutputStream();
            String get = "GET /small HTTP/1.1\r\nHost: " + HOST + "\r\n\r\n";
            out.write((get + get).getBytes(StandardCharsets.US_ASCII));
            visitor.shutdownOutput();
            InputStream in = new BufferedInputStream(visitor.getInputStream());

            for (int i = 0; i < 2; i++) {
                assertThat(FaultTarget.readHead(in)).containsEntry("status", "200");
                assertThat(new String(in.readNBytes(2), StandardCharsets.US_ASCII)).isEqualTo("ok");
            }
            assertThat(in.read()).as("the end of the connection after the answers").isEqualTo(-1);
        }
    }

    @Test
    void visitorThatHalfClosesWithinItsRequestBodyIsClosedAndTheStreamReleased() throws Exception {
        try (Socket visitor = bed.connect()) {
            visitor.setSoTimeout(10_000);
            OutputStream out = visitor.getOutputStream();
            out.write(("POST /upload HTTP/1.1\r\nHost: " + HOST + "\r\nContent-Length: 100\r\n\r\n0123456789")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            await().atMost(20, TimeUnit.SECONDS).until(() -> bed.openTunnelRequests() == 1);

            visitor.shutdownOutput();

            String end;
            try {
                end = visitor.getInputStream().read() == -1 ? "eof" : "data";
            } catch (SocketException e) {
                end = "reset";
            }
            assertThat(end).isIn("eof", "reset");
            await().atMost(10, TimeUnit.SECONDS).until(() -> bed.openTunnelRequests() == 0);
        }
    }

    /**
     * The EOF comes before the target's 101: the switch passes it on to the relay behind the request, so the target
     * still gets the 101 through, its bytes reach the visitor, and the target reads the end of the visitor's side
     * (a stream that stayed open for ever otherwise, the visitor's EOF lost in the switch).
     */
    @Test
    void visitorThatHalfClosesRightAfterAnUpgradeRequestGetsThe101AndTheBytesAndTheTargetSeesTheEof() throws Exception {
        try (Socket visitor = bed.connect()) {
            InputStream in = upgradeThenHalfClose(visitor, "/ws");

            Map<String, String> head = FaultTarget.readHead(in);
            assertThat(head).containsEntry("status", "101").containsEntry("upgrade", "websocket");
            assertThat(new String(in.readNBytes(UPGRADED_BYTES.length()), StandardCharsets.US_ASCII))
                    .isEqualTo(UPGRADED_BYTES);
            await().atMost(10, TimeUnit.SECONDS).until(() -> target.upgradedEnd() != null);
            assertThat(target.upgradedEnd()).as("what the target read after its bytes").isEqualTo("eof");
            assertThat(in.read()).as("the end of the connection after the target closed").isEqualTo(-1);
            await().atMost(10, TimeUnit.SECONDS).until(() -> bed.openTunnelRequests() == 0);
        }
    }

    /** The target refuses the upgrade with a plain 200: the answer, then the close (no keep-alive after the EOF). */
    @Test
    void visitorThatHalfClosesRightAfterARefusedUpgradeRequestGetsThe200ThenEof() throws Exception {
        try (Socket visitor = bed.connect()) {
            InputStream in = upgradeThenHalfClose(visitor, "/ws-refused");

            assertThat(FaultTarget.readHead(in)).containsEntry("status", "200").doesNotContainKey("upgrade");
            assertThat(new String(in.readNBytes(2), StandardCharsets.US_ASCII)).isEqualTo("no");
            assertThat(in.read()).as("the end of the connection after the answer").isEqualTo(-1);
            await().atMost(10, TimeUnit.SECONDS).until(() -> bed.openTunnelRequests() == 0);
        }
    }

    /**
     * A long upload the target reads only once the visitor's writes have stopped, so that the proxy stopped reading
     * the visitor while the body waited for the stream; then an answer streamed slowly (SSE, long-poll), and the
     * visitor ends its side in the middle of it: the exchange is aborted, and the target's connection is reset at
     * once, rather than waiting for the answer's next bytes to draw a reset or for the response-body timeout, or
     * ended with a FIN that a target not looking at its input would hold.
     */
    @Test
    void visitorThatEndsItsSideDuringTheStreamedAnswerToABackpressuredUploadAbortsTheExchange() throws Exception {
        try (Socket visitor = bed.connect()) {
            uploadThenStreamedAnswer(visitor, visitor);

            visitor.shutdownOutput();

            targetIsResetWhileItStreams();
        }
    }

    /** The same over TLS: the visitor's close_notify, which the proxy reads only if it reads the visitor. */
    @Test
    void httpsVisitorThatSendsCloseNotifyDuringTheStreamedAnswerToABackpressuredUploadAbortsTheExchange()
            throws Exception {
        try (Socket tcp = bed.connectHttps(); SSLSocket tls = bed.tls(tcp)) {
            uploadThenStreamedAnswer(tls, tcp);

            tls.shutdownOutput(); // close_notify and the FIN

            targetIsResetWhileItStreams();
        }
    }

    /** Uploads {@link #UPLOAD} bytes that wait for the target, then reads the head and first chunk of its answer. */
    private void uploadThenStreamedAnswer(Socket visitor, Socket tcp) throws Exception {
        OutputStream out = visitor.getOutputStream();
        out.write(("POST /upload-then-stream HTTP/1.1\r\nHost: " + HOST + "\r\nContent-Length: " + UPLOAD + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        AtomicLong written = new AtomicLong();
        CompletableFuture<String> sent = new CompletableFuture<>();
        Thread.ofVirtual().name("upload-writer").start(() -> {
            try {
                sent.complete(Transfers.writeRandom(out, UPLOAD, 29, written));
            } catch (IOException e) {
                sent.completeExceptionally(e);
            }
        });
        await().atMost(20, TimeUnit.SECONDS).until(() -> target.uploadsWaiting() == 1);
        Uploads.awaitWritesStopped(written);
        assertThat(sent).as("the body is longer than the buffers on the way take").isNotDone();

        target.readUploads();

        sent.get(30, TimeUnit.SECONDS);
        InputStream in = new BufferedInputStream(visitor.getInputStream());
        assertThat(FaultTarget.readHead(in)).containsEntry("status", "200");
        assertThat(FaultTarget.readLine(in)).as("the first chunk's size").isEqualTo(Integer.toHexString(FIRST_CHUNK.length()));
        assertThat(FaultTarget.readLine(in)).isEqualTo(FIRST_CHUNK);
        assertThat(target.streamedEnd()).as("the target still streams").isNull();
    }

    /** The exchange was aborted: the target's connection is reset, not ended with a FIN it could take for a clean end. */
    private void targetIsResetWhileItStreams() {
        await().atMost(5, TimeUnit.SECONDS).until(() -> target.streamedEnd() != null);
        assertThat(target.streamedEnd()).as("what the target read while it streamed").isEqualTo("reset");
        await().atMost(5, TimeUnit.SECONDS).until(() -> bed.openTunnelRequests() == 0);
    }

    private static InputStream upgradeThenHalfClose(Socket visitor, String path) throws IOException {
        OutputStream out = visitor.getOutputStream();
        out.write(("GET " + path + " HTTP/1.1\r\nHost: " + HOST + "\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        visitor.shutdownOutput();
        return new BufferedInputStream(visitor.getInputStream());
    }

    private static InputStream requestThenHalfClose(Socket visitor, String path) throws IOException {
        FaultTarget.writeGet(visitor, "HTTP/1.1", HOST, path);
        visitor.shutdownOutput();
        return new BufferedInputStream(visitor.getInputStream());
    }

    private static byte pattern(long i) {
        return (byte) (i % 251);
    }

    /**
     * {@code /big}: {@link #SIZE} bytes with Content-Length, written as fast as the connection takes them;
     * {@code /slow}: a short answer once the test says so, then the close; {@code /hold}: no answer, its connection
     * read until it ends.
     */
    private static final class Target extends RoutedTarget {
        private final AtomicLong written = new AtomicLong();
        private final AtomicInteger slowRequests = new AtomicInteger();
        private final CountDownLatch answerSlow = new CountDownLatch(1);
        private final CountDownLatch readUploads = new CountDownLatch(1);
        private final AtomicInteger uploadsWaiting = new AtomicInteger();
        /** While it streamed its answer to an upload, how its connection ended: "eof", "reset" or "timeout". */
        private volatile String streamedEnd;
        private final AtomicInteger heldRequests = new AtomicInteger();
        /** How the connection of a {@code /hold} request, which the target never answers, ended. */
        private volatile String heldEnd;
        private volatile boolean ended;
        /** After its 101 and bytes, what the target read from the visitor: "eof", "data", "timeout" or "error". */
        private volatile String upgradedEnd;

        Target() throws IOException {
            super("half-close-target");
        }

        long written() {
            return written.get();
        }

        /** The answer to {@code /big} was written whole, or its connection failed. */
        boolean ended() {
            return ended;
        }

        String upgradedEnd() {
            return upgradedEnd;
        }

        int slowRequests() {
            return slowRequests.get();
        }

        void answerSlowRequests() {
            answerSlow.countDown();
        }

        int uploadsWaiting() {
            return uploadsWaiting.get();
        }

        void readUploads() {
            readUploads.countDown();
        }

        String streamedEnd() {
            return streamedEnd;
        }

        int heldRequests() {
            return heldRequests.get();
        }

        String heldEnd() {
            return heldEnd;
        }

        @Override
        boolean answer(String requestLine, long length, Socket socket, InputStream in, OutputStream out)
                throws IOException, InterruptedException {
            if (requestLine.startsWith("POST /upload-then-stream ")) {
                uploadThenStream(socket, in, out, length);
                return false;
            } else if (requestLine.startsWith("GET /big ")) {
                writeBig(out);
            } else if (requestLine.startsWith("GET /small ")) {
                out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.US_ASCII));
                out.flush();
            } else if (requestLine.startsWith("GET /ws ")) {
                out.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n" + UPGRADED_BYTES)
                        .getBytes(StandardCharsets.US_ASCII));
                out.flush();
                upgradedEnd = readEnd(socket, in);
                return false;
            } else if (requestLine.startsWith("GET /ws-refused ")) {
                out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno".getBytes(StandardCharsets.US_ASCII));
                out.flush();
            } else if (requestLine.startsWith("GET /hold ")) {
                heldRequests.incrementAndGet();
                heldEnd = resetOrEnd(socket, in);
                return false;
            } else if (requestLine.startsWith("GET /slow ")) {
                slowRequests.incrementAndGet();
                if (answerSlow.await(30, TimeUnit.SECONDS)) {
                    out.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
                            .getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                }
                return false;
            } else {
                in.transferTo(OutputStream.nullOutputStream()); // an upload: read until the stream ends
                return false;
            }
            return true;
        }

        /**
         * Reads the body once the test says so, answers with its first chunk and then waits on its connection, as a
         * stream of events does between two, for at most 15 s.
         */
        private void uploadThenStream(Socket socket, InputStream in, OutputStream out, long length)
                throws IOException, InterruptedException {
            uploadsWaiting.incrementAndGet();
            if (!readUploads.await(30, TimeUnit.SECONDS)) {
                return;
            }
            in.skipNBytes(length);
            out.write(("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + Integer.toHexString(FIRST_CHUNK.length())
                    + "\r\n" + FIRST_CHUNK + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            streamedEnd = resetOrEnd(socket, in);
        }

        /** {@link #readEnd}, a reset of the connection as "reset". */
        private static String resetOrEnd(Socket socket, InputStream in) {
            String end = readEnd(socket, in);
            return end.startsWith("error") && end.contains("reset") ? "reset" : end;
        }

        /** Reads once, for at most 15 s: the visitor's EOF relayed ("eof"), or something else. */
        private static String readEnd(Socket socket, InputStream in) {
            try {
                socket.setSoTimeout(15_000);
                return in.read() == -1 ? "eof" : "data";
            } catch (SocketTimeoutException e) {
                return "timeout";
            } catch (IOException e) {
                return "error: " + e;
            }
        }

        private void writeBig(OutputStream out) throws IOException {
            try {
                out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + SIZE + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                byte[] chunk = new byte[64 * 1024];
                for (int sent = 0; sent < SIZE; sent += chunk.length) {
                    for (int i = 0; i < chunk.length; i++) {
                        chunk[i] = pattern(sent + i);
                    }
                    out.write(chunk);
                    written.addAndGet(chunk.length);
                }
                out.flush();
            } finally {
                ended = true;
            }
        }

        @Override
        public void close() throws IOException {
            answerSlow.countDown();
            super.close();
        }
    }
}
