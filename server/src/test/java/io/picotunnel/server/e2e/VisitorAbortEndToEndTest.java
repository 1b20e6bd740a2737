package io.picotunnel.server.e2e;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A visitor that goes away in the middle of an exchange or a relayed connection reaches the target as an abort (its
 * connection reset by the client), never as a clean end (EOF): a target that ignores its end of input would otherwise
 * hold its connection and the tunnel's stream until it closes on its own, and one that reads to the end would take a
 * cut upload or session for a whole one. Real server, our client in process, targets on loopback that record how
 * their connection ended and, at an EOF, keep it open as such a target does.
 */
class VisitorAbortEndToEndTest {

    private static final String HOST = "abort.test";
    private static final String PASSTHROUGH_HOST = "pass.abort.test";
    private static final String FIRST_EVENT = "first";
    private static final String UPGRADED_BYTES = "after the switch";
    private static final int UPLOAD = 1000;
    private static final int UPLOAD_SENT = 10;
    /** A TLS alert record, close_notify (level warning), as a TLS 1.2 peer sends it in the clear. */
    private static final byte[] CLOSE_NOTIFY = {0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 0x00};

    @TempDir
    Path dataDir;

    private Target target;
    private RawTarget rawTarget;
    private HalfCloseBed bed;

    @BeforeEach
    void start() throws IOException {
        target = new Target();
        rawTarget = new RawTarget();
        bed = new HalfCloseBed(dataDir, HOST, "abort", target.port());
    }

    @AfterEach
    void stop() throws IOException {
        bed.close();
        target.close();
        rawTarget.close();
    }

    /** Before: the stream was closed with a FIN, the target read EOF and held its connection and the stream. */
    @Test
    void aVisitorThatLeavesInTheMiddleOfAStreamedAnswerResetsTheTargetsConnectionAndItsStream() throws Exception {
        Socket visitor = bed.connect();
        try {
            FaultTarget.writeGet(visitor, "HTTP/1.1", HOST, "/events");
            readFirstEvent(new BufferedInputStream(visitor.getInputStream()));

            visitor.close();

            targetIsResetAndTheStreamReleased(target::end);
        } finally {
            visitor.close();
        }
    }

    /** The same over TLS, the visitor leaving with close_notify and its FIN. */
    @Test
    void anHttpsVisitorThatLeavesInTheMiddleOfAStreamedAnswerResetsTheTargetsConnectionAndItsStream()
            throws Exception {
        Socket tcp = bed.connectHttps();
        try {
            SSLSocket tls = bed.tls(tcp);
            FaultTarget.writeGet(tls, "HTTP/1.1", HOST, "/events");
            readFirstEvent(new BufferedInputStream(tls.getInputStream()));

            tls.close();
            tcp.close();

            targetIsResetAndTheStreamReleased(target::end);
        } finally {
            tcp.close();
        }
    }

    /**
     * HTTP/2: the visitor cancels its stream (RST_STREAM) in the middle of a streamed answer, its connection going on.
     */
    @Test
    void anHttp2VisitorThatResetsItsStreamInTheMiddleOfAStreamedAnswerResetsTheTargetsConnectionAndItsStream()
            throws Exception {
        try (RawHttp2Visitor visitor = bed.connectHttp2()) {
            visitor.get(1, "/events");
            visitor.awaitRead("the first event", Duration.ofSeconds(20), () -> visitor.body(1).equals(FIRST_EVENT));

            visitor.cancel(1);

            targetIsResetAndTheStreamReleased(target::end);
            assertThat(visitor.ended()).as("the visitor's connection goes on").isFalse();
        }
    }

    /**
     * HTTP/2: the visitor closes its whole connection (close_notify and its FIN) in the middle of a streamed answer.
     */
    @Test
    void anHttp2VisitorThatClosesItsConnectionInTheMiddleOfAStreamedAnswerResetsTheTargetsConnectionAndItsStream()
            throws Exception {
        RawHttp2Visitor visitor = bed.connectHttp2();
        try {
            visitor.get(1, "/events");
            visitor.awaitRead("the first event", Duration.ofSeconds(20), () -> visitor.body(1).equals(FIRST_EVENT));

            visitor.close();

            targetIsResetAndTheStreamReleased(target::end);
        } finally {
            visitor.close();
        }
    }

    /** Before: the target read the cut body's end as a clean EOF, as if the upload had been whole. */
    @Test
    void aVisitorThatLeavesInTheMiddleOfItsUploadResetsTheTargetsConnectionAndItsStream() throws Exception {
        leaveInTheMiddleOfAnUpload("Content-Length: " + UPLOAD, new byte[UPLOAD_SENT]);
    }

    /** A plain socket reset after the switch: the relay resets the stream (it did before too). */
    @Test
    void aVisitorThatResetsItsUpgradedConnectionResetsTheTargetsConnection() throws Exception {
        Socket visitor = bed.connect();
        try {
            upgrade(visitor, new BufferedInputStream(visitor.getInputStream()));

            visitor.setSoLinger(true, 0);
            visitor.close();

            targetIsResetAndTheStreamReleased(target::end);
        } finally {
            visitor.close();
        }
    }

    /**
     * After the visitor's close_notify, its reset: Netty's TLS handler takes "Connection reset by peer" then for a
     * peer's ordinary leaving and closes quietly. Before, the relay saw only that close and ended the stream with a
     * FIN, so the target read EOF.
     */
    @Test
    void anHttpsVisitorThatResetsItsUpgradedConnectionAfterCloseNotifyResetsTheTargetsConnection() throws Exception {
        Socket tcp = bed.connectHttps();
        try {
            SSLSocket tls = bed.tls(tcp);
            upgrade(tls, new BufferedInputStream(tls.getInputStream()));

            tls.close(); // close_notify; the socket under it stays open (not auto-closed), with no FIN
            assertThat(tcp.isOutputShutdown()).as("no FIN before the reset").isFalse();
            tcp.setSoLinger(true, 0);
            tcp.close();

            targetIsResetAndTheStreamReleased(target::end);
        } finally {
            tcp.close();
        }
    }

    /** TLS passthrough relays TLS records as bytes: a reset after a close_notify record is a reset (before too). */
    @Test
    void aPassthroughVisitorThatResetsAfterCloseNotifyResetsTheTargetsConnection() throws Exception {
        bed.createPassthroughService(PASSTHROUGH_HOST, rawTarget.port());
        Socket visitor = bed.connectHttps();
        try {
            byte[] hello = clientHello(PASSTHROUGH_HOST);
            OutputStream out = visitor.getOutputStream();
            out.write(hello);
            out.write(CLOSE_NOTIFY);
            out.flush();
            await().atMost(20, TimeUnit.SECONDS)
                    .until(() -> rawTarget.received() == hello.length + CLOSE_NOTIFY.length);

            visitor.setSoLinger(true, 0);
            visitor.close();

            targetIsResetAndTheStreamReleased(rawTarget::end);
        } finally {
            visitor.close();
        }
    }

    private static void readFirstEvent(InputStream in) throws IOException {
        assertThat(FaultTarget.readHead(in)).containsEntry("status", "200");
        assertThat(FaultTarget.readLine(in)).as("the first chunk's size")
                .isEqualTo(Integer.toHexString(FIRST_EVENT.length()));
        assertThat(FaultTarget.readLine(in)).isEqualTo(FIRST_EVENT);
    }

    private static void upgrade(Socket visitor, InputStream in) throws IOException {
        visitor.getOutputStream().write(("GET /ws HTTP/1.1\r\nHost: " + HOST + "\r\nConnection: Upgrade\r\n"
                + "Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                + "Sec-WebSocket-Version: 13\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        visitor.getOutputStream().flush();
        Map<String, String> head = FaultTarget.readHead(in);
        assertThat(head).containsEntry("status", "101");
        assertThat(new String(in.readNBytes(UPGRADED_BYTES.length()), StandardCharsets.US_ASCII))
                .isEqualTo(UPGRADED_BYTES);
    }

    /** A chunked upload cut in its middle must not reach the target with a last chunk, nor as a clean EOF. */
    @Test
    void aVisitorThatLeavesInTheMiddleOfItsChunkedUploadResetsTheTargetsConnectionAndItsStream() throws Exception {
        // One chunk whose bytes on the wire, "5\r\nhello\r\n", are the UPLOAD_SENT the target reads before its end.
        leaveInTheMiddleOfAnUpload("Transfer-Encoding: chunked", "5\r\nhello\r\n".getBytes(StandardCharsets.US_ASCII));
    }

    /**
     * POSTs to {@code /upload} with {@code framing} (the body's Content-Length or Transfer-Encoding header) a body cut
     * after {@code bodySent}, leaves once the target has read those bytes, and shows its connection reset.
     */
    private void leaveInTheMiddleOfAnUpload(String framing, byte[] bodySent) throws Exception {
        Socket visitor = bed.connect();
        try {
            OutputStream out = visitor.getOutputStream();
            out.write(("POST /upload HTTP/1.1\r\nHost: " + HOST + "\r\n" + framing + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.write(bodySent);
            out.flush();
            await().atMost(20, TimeUnit.SECONDS).until(() -> target.uploaded() == UPLOAD_SENT);

            visitor.close();

            targetIsResetAndTheStreamReleased(target::end);
        } finally {
            visitor.close();
        }
    }

    /** HTTP/2: the visitor cancels its stream (RST_STREAM) in the middle of its upload, its connection going on. */
    @Test
    void anHttp2VisitorThatResetsItsStreamInTheMiddleOfItsUploadResetsTheTargetsConnectionAndItsStream()
            throws Exception {
        try (RawHttp2Visitor visitor = http2UploadUnderWay()) {
            visitor.cancel(1);

            targetIsResetAndTheStreamReleased(target::end);
            assertThat(visitor.ended()).as("the visitor's connection goes on").isFalse();
        }
    }

    /** HTTP/2: the visitor closes its whole connection (close_notify and its FIN) in the middle of its upload. */
    @Test
    void anHttp2VisitorThatClosesItsConnectionInTheMiddleOfItsUploadResetsTheTargetsConnectionAndItsStream()
            throws Exception {
        RawHttp2Visitor visitor = http2UploadUnderWay();
        try {
            visitor.close();

            targetIsResetAndTheStreamReleased(target::end);
        } finally {
            visitor.close();
        }
    }

    /** HTTP/2: the visitor ends its stream (END_STREAM) before the body its content-length announced is whole. */
    @Test
    void anHttp2UploadEndedShortOfItsContentLengthResetsTheTargetsConnectionAndItsStream() throws Exception {
        try (RawHttp2Visitor visitor = http2UploadUnderWay()) {
            visitor.data(1, 0, true);

            targetIsResetAndTheStreamReleased(target::end);
        }
    }

    /** A POST of {@code UPLOAD} bytes on stream 1 whose first {@code UPLOAD_SENT} reached the target. */
    private RawHttp2Visitor http2UploadUnderWay() throws Exception {
        RawHttp2Visitor visitor = bed.connectHttp2();
        try {
            visitor.post(1, "/upload", UPLOAD);
            visitor.data(1, UPLOAD_SENT, false);
            await().atMost(20, TimeUnit.SECONDS).until(() -> target.uploaded() == UPLOAD_SENT);
            return visitor;
        } catch (Exception | AssertionError e) {
            visitor.close();
            throw e;
        }
    }

    private void targetIsResetAndTheStreamReleased(Supplier<String> end) {
        await().atMost(10, TimeUnit.SECONDS).until(() -> end.get() != null);
        assertThat(end.get()).as("how the target's connection ended").isEqualTo("reset");
        await().atMost(10, TimeUnit.SECONDS).until(() -> bed.openStreams() == 0);
    }

    /** The first TLS record of a client for {@code host}: a ClientHello with that name (SNI). */
    private static byte[] clientHello(String host) throws Exception {
        SSLContext context = SSLContext.getInstance("TLSv1.3");
        context.init(null, null, null);
        SSLEngine engine = context.createSSLEngine(host, 443);
        engine.setUseClientMode(true);
        SSLParameters parameters = engine.getSSLParameters();
        parameters.setServerNames(List.of(new SNIHostName(host)));
        engine.setSSLParameters(parameters);
        ByteBuffer record = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        engine.wrap(ByteBuffer.allocate(0), record);
        return Arrays.copyOf(record.array(), record.position());
    }

    /** Reads once, for at most 15 s: "eof", "reset", "data" or "timeout". */
    private static String readEnd(Socket socket, InputStream in) {
        String end;
        try {
            socket.setSoTimeout(15_000);
            end = in.read() == -1 ? "eof" : "data";
        } catch (SocketTimeoutException e) {
            end = "timeout";
        } catch (IOException e) {
            end = e.getMessage() != null && e.getMessage().contains("reset") ? "reset" : "error: " + e;
        }
        return end;
    }

    /**
     * {@code /events}: a chunked answer's first event, then nothing for a long while; {@code /upload}: reads the body;
     * {@code /ws}: 101 and a few bytes. Each then records how its connection ended.
     */
    private static final class Target extends RoutedTarget {
        private final CountDownLatch released = new CountDownLatch(1);
        private final AtomicLong uploaded = new AtomicLong();
        private volatile String end;

        Target() throws IOException {
            super("abort-target");
        }

        String end() {
            return end;
        }

        long uploaded() {
            return uploaded.get();
        }

        @Override
        boolean answer(String requestLine, long length, Socket socket, InputStream in, OutputStream out)
                throws IOException, InterruptedException {
            if (requestLine.startsWith("GET /events ")) {
                out.write(("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + Integer.toHexString(FIRST_EVENT.length()) + "\r\n" + FIRST_EVENT + "\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                out.flush();
            } else if (requestLine.startsWith("GET /ws ")) {
                out.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n" + UPGRADED_BYTES)
                        .getBytes(StandardCharsets.US_ASCII));
                out.flush();
            } else if (requestLine.startsWith("POST /upload ")) {
                for (int i = 0; i < UPLOAD_SENT; i++) {
                    if (in.read() == -1) {
                        break;
                    }
                    uploaded.incrementAndGet();
                }
            } else {
                return false;
            }
            end = readEnd(socket, in);
            holdAfterEof();
            return false;
        }

        /** Keeps the connection open for up to 20 s after an EOF, as a target that does not look at its input. */
        private void holdAfterEof() throws InterruptedException {
            if ("eof".equals(end)) {
                released.await(20, TimeUnit.SECONDS);
            }
        }

        @Override
        public void close() throws IOException {
            released.countDown();
            super.close();
        }
    }

    /** A target of raw bytes: counts what it reads, then records how its connection ended, as {@link Target} does. */
    private static final class RawTarget implements AutoCloseable {
        private final ServerSocket server = new ServerSocket(0, 16, InetAddress.getLoopbackAddress());
        private final CountDownLatch released = new CountDownLatch(1);
        private final AtomicLong received = new AtomicLong();
        private volatile String end;

        RawTarget() throws IOException {
            Thread.ofVirtual().name("abort-raw-target").start(this::serveOne);
        }

        int port() {
            return server.getLocalPort();
        }

        long received() {
            return received.get();
        }

        String end() {
            return end;
        }

        private void serveOne() {
            try (Socket socket = server.accept()) {
                socket.setSoTimeout(15_000);
                InputStream in = socket.getInputStream();
                byte[] buffer = new byte[4096];
                for (int i = 0; i < 64; i++) { // a ClientHello and an alert take a few reads
                    int n = in.read(buffer);
                    if (n == -1) {
                        end = "eof";
                        released.await(20, TimeUnit.SECONDS);
                        return;
                    }
                    received.addAndGet(n);
                }
                end = "data";
            } catch (SocketTimeoutException e) {
                end = "timeout";
            } catch (IOException e) {
                end = e.getMessage() != null && e.getMessage().contains("reset") ? "reset" : "error: " + e;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public void close() throws IOException {
            released.countDown();
            server.close();
        }
    }
}
