package io.picotunnel.server.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.testbed.TcpServicePorts;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.testkit.ClientHellos;
import io.picotunnel.testkit.KernelSocket;
import io.picotunnel.testkit.SocketEnding;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

import static io.picotunnel.testkit.SocketEnding.readToEndOrReset;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A fault on the way never looks like a clean end of data: when the tunnel is lost in the middle of a transfer
 * (the client process killed with SIGKILL, the server stopped, the token regenerated) or the target resets its
 * connection, visitors and targets see a TCP reset, never an EOF, and an HTTP response is either a 502 (before
 * its head) or visibly cut (after it). Real server, our client as a process of its own, real sockets.
 */
class FaultEndToEndTest {

    private static final long MiB = 1024 * 1024;
    /** Far more than every buffer on the path holds: a visitor that stops reading is really mid-transfer. */
    private static final long SIZE = 256 * MiB;
    private static final String HOST = "dl.test";
    /** Less than the buffers on the path hold, so that a target whose visitor reads nothing writes it all. */
    private static final long STALLED_BYTES = 512 * 1024;
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(60);

    @TempDir
    Path dataDir;

    private Testbed testbed;
    private String tunnelId;
    private ClientProcess client;
    private FaultTarget target;

    @BeforeEach
    void start() throws IOException {
        testbed = new Testbed(dataDir.resolve("data"));
        JsonNode tunnel = testbed.createTunnel("faults");
        tunnelId = tunnel.get("id").asText();
        client = ClientProcess.start(testbed.tunnelPort(), tunnel.get("token").asText(), dataDir.resolve("client.log"));
        client.awaitConnected(() -> testbed.isConnected(tunnelId));
    }

    @AfterEach
    void stop() throws Exception {
        client.close();
        testbed.close();
        if (target != null) {
            target.close();
        }
    }

    // ---- visitors, when the client process is killed ----

    @Test
    void tcpDownloadIsResetWhenTheClientProcessIsKilled() throws Exception {
        target = FaultTarget.download(SIZE);
        int port = tcpService();
        try (Socket visitor = FaultTarget.connect(port, READ_TIMEOUT)) {
            downloadIsCutByAReset(visitor.getInputStream(), client::kill);
        }
    }

    @Test
    void httpDownloadWithContentLengthIsCutByAResetWhenTheClientProcessIsKilled() throws Exception {
        try (Socket visitor = httpVisitor()) {
            InputStream in = get(visitor, "/length/" + SIZE);
            Map<String, String> head = FaultTarget.readHead(in);
            assertThat(head).containsEntry("status", "200").containsEntry("content-length", Long.toString(SIZE));
            downloadIsCutByAReset(in, client::kill);
        }
    }

    /** What cuts the tunnel in the middle of a transfer: the client killed, the server stopped. */
    @FunctionalInterface
    private interface Fault {
        void cut() throws Exception;
    }

    /** Reads the first MiB of a download the target is still sending, then cuts the tunnel: the rest is a reset. */
    private void downloadIsCutByAReset(InputStream in, Fault fault) throws Exception {
        assertThat(in.readNBytes((int) MiB)).hasSize((int) MiB);
        assertThat(target.written()).as("target still sending").isLessThan(SIZE);

        fault.cut();
        SocketEnding end = readToEndOrReset(in);

        assertThat(end.how()).isEqualTo("reset: Connection reset");
        assertThat(MiB + end.bytes()).isLessThan(SIZE);
    }

    @Test
    void httpChunkedDownloadGetsNoFinalChunkButAResetWhenTheClientProcessIsKilled() throws Exception {
        chunkedDownloadIsCutByAReset("/chunked/" + SIZE, client::kill);
    }

    @Test
    void httpDownloadDelimitedByCloseGetsNoFinalChunkButAResetWhenTheClientProcessIsKilled() throws Exception {
        // The proxy re-frames a body that the target ends by closing its connection as chunked: the codec
        // upstream must not take the lost stream for that close.
        chunkedDownloadIsCutByAReset("/close/" + SIZE, client::kill);
    }

    /** Reads the first MiB of a chunked download the target is still sending, then cuts the tunnel: no final chunk. */
    private void chunkedDownloadIsCutByAReset(String path, Fault fault) throws Exception {
        try (Socket visitor = httpVisitor()) {
            ChunkedBody body = chunkedDownload(visitor, path);
            assertThat(body.readUntil(MiB)).isEqualTo("limit");
            assertThat(target.written()).as("target still sending").isLessThan(SIZE);

            fault.cut();

            assertThat(body.readUntil(Long.MAX_VALUE)).isEqualTo("reset: Connection reset");
            assertThat(body.bytes()).isLessThan(SIZE);
        }
    }

    @Test
    void requestWaitingForItsResponseGets502TunnelLostWhenTheClientProcessIsKilled() throws Exception {
        try (Socket visitor = httpVisitor()) {
            InputStream in = get(visitor, "/hold");
            await().atMost(30, TimeUnit.SECONDS).until(() -> target.requests() == 1);

            client.kill();

            Map<String, String> head = FaultTarget.readHead(in);
            assertThat(head).containsEntry("status", "502");
            String page = new String(in.readNBytes(Integer.parseInt(head.get("content-length"))), StandardCharsets.UTF_8);
            assertThat(page).as("the tunnel was lost, the app did not fail").contains("tunnel was lost")
                    .doesNotContain("service is running");
        }
    }

    // ---- visitors, when the target resets its connection ----

    @Test
    void httpDownloadWithContentLengthIsCutByAResetWhenTheTargetResetsItsConnection() throws Exception {
        lengthAnswerIsResetAfterWhatTheTargetSent("/reset-length/65536");
    }

    /** The proxy sends the body delimited by the close as chunks of its own. */
    @Test
    void httpDownloadDelimitedByCloseGetsNoFinalChunkWhenTheTargetResetsItsConnection() throws Exception {
        chunkedAnswerIsResetAfterWhatTheTargetSent("/reset-close/65536");
    }

    /** The other side of the test above: a body that the target ends by closing normally ends with the final chunk. */
    @Test
    void httpDownloadDelimitedByCloseGetsTheFinalChunkWhenTheTargetClosesNormally() throws Exception {
        try (Socket visitor = httpVisitor()) {
            ChunkedBody body = chunkedDownload(visitor, "/close/" + MiB);

            assertThat(body.readUntil(Long.MAX_VALUE)).isEqualTo("final chunk");
            assertThat(body.bytes()).isEqualTo(MiB);
        }
    }

    /** The target's own chunks pass through. */
    @Test
    void httpChunkedDownloadGetsNoFinalChunkWhenTheTargetResetsItsConnection() throws Exception {
        chunkedAnswerIsResetAfterWhatTheTargetSent("/reset-chunked/65536");
    }

    private void chunkedAnswerIsResetAfterWhatTheTargetSent(String path) throws Exception {
        try (Socket visitor = httpVisitor()) {
            ChunkedBody body = chunkedDownload(visitor, path);
            assertThat(body.readUntil(65536)).isEqualTo("limit");

            target.resume();

            assertThat(body.readUntil(Long.MAX_VALUE)).isEqualTo("reset: Connection reset");
            assertThat(body.bytes()).isEqualTo(65536);
        }
    }

    /** A 64 KiB piece of a 640 KiB answer with a Content-Length, then the target's fault: the visitor gets a reset. */
    private void lengthAnswerIsResetAfterWhatTheTargetSent(String path) throws Exception {
        try (Socket visitor = httpVisitor()) {
            InputStream in = get(visitor, path);
            assertThat(FaultTarget.readHead(in)).containsEntry("status", "200").containsEntry("content-length", "655360");
            assertThat(in.readNBytes(65536)).hasSize(65536);

            visitorIsResetWhenTheTargetResumes(in);
        }
    }

    // ---- visitors, when the target ends its connection normally (FIN) before its body's end ----

    @Test
    void httpDownloadWithContentLengthIsCutByAResetWhenTheTargetClosesBeforeItsEnd() throws Exception {
        lengthAnswerIsResetAfterWhatTheTargetSent("/cut-length/65536");
    }

    @Test
    void httpChunkedDownloadGetsNoFinalChunkWhenTheTargetClosesBeforeItsLastChunk() throws Exception {
        chunkedAnswerIsResetAfterWhatTheTargetSent("/cut-chunked/65536");
    }

    // ---- HTTP/1.0 visitors: a body delimited by the close is cut by a reset, never by a clean close ----

    @Test
    void http10DownloadDelimitedByCloseIsResetWhenTheClientProcessIsKilled() throws Exception {
        try (Socket visitor = httpVisitor()) {
            InputStream in = get10(visitor, "/close/" + SIZE);
            assertThat(FaultTarget.readHead(in)).containsEntry("status", "200").doesNotContainKeys("content-length",
                    "transfer-encoding");
            downloadIsCutByAReset(in, client::kill);
        }
    }

    @Test
    void http10DownloadDelimitedByCloseIsResetWhenTheServerStops() throws Exception {
        try (Socket visitor = httpVisitor()) {
            InputStream in = get10(visitor, "/close/" + SIZE);
            assertThat(FaultTarget.readHead(in)).containsEntry("status", "200").doesNotContainKeys("content-length",
                    "transfer-encoding");
            downloadIsCutByAReset(in, () -> testbed.server().stop());
        }
    }

    @Test
    void httpChunkedDownloadGetsNoFinalChunkWhenTheServerStops() throws Exception {
        chunkedDownloadIsCutByAReset("/close/" + SIZE, () -> testbed.server().stop());
    }

    // ---- a fault between pipelined requests, and after a 100 Continue ----

    @Test
    void aRequestPipelinedBehindACutResponseGetsNoAnswerOnThatConnection() throws Exception {
        try (Socket visitor = httpVisitor()) {
            OutputStream out = visitor.getOutputStream();
            out.write(("GET /reset-length/65536 HTTP/1.1\r\nHost: " + HOST + "\r\n\r\n"
                    + "GET /length/16 HTTP/1.1\r\nHost: " + HOST + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = new BufferedInputStream(visitor.getInputStream());
            assertThat(FaultTarget.readHead(in)).containsEntry("status", "200").containsEntry("content-length", "655360");
            assertThat(in.readNBytes(65536)).hasSize(65536);

            visitorIsResetWhenTheTargetResumes(in);
        }
    }

    @Test
    void anUploadWhoseTargetResetsAfterSaying100ContinueGets502() throws Exception {
        try (Socket visitor = httpVisitor()) {
            OutputStream out = visitor.getOutputStream();
            out.write(("POST /continue-reset/65536 HTTP/1.1\r\nHost: " + HOST + "\r\nExpect: 100-continue\r\n"
                    + "Content-Length: 131072\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = new BufferedInputStream(visitor.getInputStream());
            assertThat(FaultTarget.readHead(in)).containsEntry("status", "100");
            out.write(new byte[65536]);
            out.flush();
            await().atMost(30, TimeUnit.SECONDS).until(() -> target.read() >= 65536);

            target.resume();

            assertThat(FaultTarget.readHead(in)).containsEntry("status", "502");
        }
    }

    @Test
    void tcpDownloadIsResetWhenTheTargetResetsItsConnection() throws Exception {
        target = FaultTarget.resetAfter(MiB);
        int port = tcpService();
        try (Socket visitor = FaultTarget.connect(port, READ_TIMEOUT)) {
            downloadIsResetWhenTheTargetResets(visitor.getInputStream());
        }
    }

    /** A visitor that ended its side (FIN) reads on: the target's reset still reaches it as a reset, not as an EOF. */
    @Test
    void tcpDownloadOfAVisitorThatHalfClosedIsResetWhenTheTargetResetsItsConnection() throws Exception {
        target = FaultTarget.resetAfter(MiB);
        int port = tcpService();
        try (Socket visitor = FaultTarget.connect(port, READ_TIMEOUT)) {
            halfCloseUntilTheTargetSeesIt(visitor);
            downloadIsResetWhenTheTargetResets(visitor.getInputStream());
        }
    }

    @Test
    void tcpDownloadOfAVisitorThatHalfClosedIsResetWhenTheClientProcessIsKilled() throws Exception {
        target = FaultTarget.download(SIZE);
        int port = tcpService();
        try (Socket visitor = FaultTarget.connect(port, READ_TIMEOUT)) {
            halfCloseUntilTheTargetSeesIt(visitor);
            downloadIsCutByAReset(visitor.getInputStream(), client::kill);
        }
    }

    /**
     * A visitor that reads nothing while the target sends what the path holds and then resets: once the server let
     * the stream go, the visitor reads what reached it (the kernel drops the rest with the reset) and then the reset,
     * never an EOF.
     */
    @Test
    void tcpDownloadOfAStalledVisitorIsResetWhenTheTargetResetsItsConnection() throws Exception {
        target = FaultTarget.resetAfter(STALLED_BYTES);
        int port = tcpService();
        try (Socket visitor = FaultTarget.connect(port, READ_TIMEOUT)) {
            stalledVisitorIsResetWhenTheTargetResets(visitor.getInputStream());
        }
    }

    @Test
    void http10DownloadDelimitedByCloseOfAStalledVisitorIsResetWhenTheTargetResetsItsConnection() throws Exception {
        try (Socket visitor = httpVisitor()) {
            FaultTarget.writeGet(visitor, "HTTP/1.0", HOST, "/reset-close/" + STALLED_BYTES);
            stalledVisitorIsResetWhenTheTargetResets(visitor.getInputStream());
        }
    }

    /** The visitor ends its side (FIN), and the fault comes only once the target read that FIN through the tunnel. */
    private void halfCloseUntilTheTargetSeesIt(Socket visitor) throws IOException {
        visitor.shutdownOutput();
        await("the target saw the visitor's FIN").atMost(READ_TIMEOUT).until(() -> target.inputEnded(0));
    }

    private void stalledVisitorIsResetWhenTheTargetResets(InputStream in) throws Exception {
        await("the target wrote all it sends before its reset").atMost(READ_TIMEOUT)
                .until(() -> target.written() == STALLED_BYTES);

        target.resume();
        await("the server let the stream go").atMost(READ_TIMEOUT).until(() -> testbed.server().registry()
                .connections(tunnelId).getFirst().session().activeStreams() == 0);

        assertThat(readToEndOrReset(in).how()).isEqualTo("reset: Connection reset");
    }

    /** Reads the MiB a {@link FaultTarget#resetAfter} target sends before its reset: the visitor gets that reset. */
    private void downloadIsResetWhenTheTargetResets(InputStream in) throws Exception {
        assertThat(in.readNBytes((int) MiB)).hasSize((int) MiB);

        visitorIsResetWhenTheTargetResumes(in);
    }

    /** Lets the held target go on to its fault: the visitor's next read is a reset, with no byte before it. */
    private void visitorIsResetWhenTheTargetResumes(InputStream in) throws Exception {
        target.resume();
        SocketEnding end = readToEndOrReset(in);

        assertThat(end.how()).isEqualTo("reset: Connection reset");
        assertThat(end.bytes()).isZero();
    }

    // ---- a normal end stays a normal end (relayed sockets have zero linger until they are closed) ----

    /**
     * The visitor half-closes at once and does not read: the relay ends on the target's FIN and the server closes its
     * end of the visitor's connection while bytes are still unacknowledged. Zero linger left on that close would
     * reset the connection and discard them.
     */
    @Test
    void tcpDownloadEndingNormallyArrivesWholeThenEofThoughTheServerClosedItsEndBeforeTheVisitorRead() throws Exception {
        long size = 2 * MiB;
        target = FaultTarget.download(size);
        int port = tcpService();
        try (Socket visitor = new Socket()) {
            visitor.setReceiveBufferSize(64 * 1024);
            visitor.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            visitor.setSoTimeout(60_000);
            visitor.shutdownOutput();
            AtomicReference<KernelSocket> closed = new AtomicReference<>();
            await().atMost(30, TimeUnit.SECONDS).until(() -> {
                KernelSocket end = KernelSocket.find(port, visitor.getLocalPort());
                closed.set(end);
                return end == null || end.inode() == 0;
            });

            SocketEnding end = readToEndOrReset(visitor.getInputStream());

            assertThat(end).isEqualTo(new SocketEnding(size, "eof"));
            assertThat(closed.get()).as("the server closed its end with bytes unacknowledged").isNotNull();
            assertThat(closed.get().queued()).isPositive();
        }
    }

    /**
     * The guard for an HTTP/1.0 answer delimited by the close, which has zero linger while it is written (so that a
     * death of the server resets it, ServerProcessKillTest): the visitor does not read, and the server shuts its side
     * and closes its end (the lingering close) while bytes are still unacknowledged. Zero linger left then would reset
     * the connection and discard them.
     */
    @Test
    void http10DownloadDelimitedByCloseEndingNormallyArrivesWholeThenEofThoughTheServerClosedItsEndBeforeTheVisitorRead()
            throws Exception {
        long size = 2 * MiB;
        target = FaultTarget.http();
        int port = httpService();
        try (Socket visitor = new Socket()) {
            visitor.setReceiveBufferSize(64 * 1024);
            visitor.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            visitor.setSoTimeout(60_000);
            InputStream in = get10(visitor, "/close/" + size);
            AtomicReference<KernelSocket> closed = new AtomicReference<>();
            await().atMost(30, TimeUnit.SECONDS).until(() -> {
                KernelSocket end = KernelSocket.find(port, visitor.getLocalPort());
                closed.set(end);
                return end == null || end.inode() == 0;
            });

            assertThat(FaultTarget.readHead(in)).containsEntry("status", "200").doesNotContainKeys("content-length",
                    "transfer-encoding");
            FaultTarget.PatternRead body = FaultTarget.readPattern(in);

            assertThat(new SocketEnding(body.bytes(), body.how())).isEqualTo(new SocketEnding(size, "eof"));
            assertThat(body.firstWrong()).as("first byte not the target's").isEqualTo(-1);
            assertThat(closed.get()).as("the server closed its end with bytes unacknowledged").isNotNull();
            assertThat(closed.get().queued()).isPositive();
        }
    }

    // ---- TLS passthrough: the same relay as a tcp service, behind the front door's look at the ClientHello ----

    @Test
    void passthroughDownloadIsResetWhenTheClientProcessIsKilled() throws Exception {
        target = FaultTarget.download(SIZE);
        try (Socket visitor = passthrough()) {
            downloadIsCutByAReset(visitor.getInputStream(), client::kill);
        }
    }

    @Test
    void passthroughDownloadIsResetWhenTheTargetResetsItsConnection() throws Exception {
        target = FaultTarget.resetAfter(MiB);
        try (Socket visitor = passthrough()) {
            downloadIsResetWhenTheTargetResets(visitor.getInputStream());
        }
    }

    @Test
    void passthroughVisitorThatHalfClosesAfterItsClientHelloStillGetsTheWholeAnswerAndAnEof() throws Exception {
        target = FaultTarget.download(MiB);
        try (Socket visitor = passthrough()) {
            visitor.shutdownOutput();

            SocketEnding end = readToEndOrReset(visitor.getInputStream());

            assertThat(end).isEqualTo(new SocketEnding(MiB, "eof"));
        }
    }

    // ---- targets, when the server goes away ----

    @Test
    void targetConnectionIsResetWhenTheServerStops() throws Exception {
        targetConnectionIsResetWhenTheTunnelIsCut(() -> testbed.server().stop());
    }

    @Test
    void targetConnectionIsResetWhenTheTokenIsRegenerated() throws Exception {
        targetConnectionIsResetWhenTheTunnelIsCut(() -> {
            ApiClient.Response regenerated = testbed.api().post("/api/tunnels/" + tunnelId + "/regenerate", "");
            assertThat(regenerated.status()).as(regenerated.toString()).isEqualTo(200);
        });
    }

    // ---- targets, when the client process itself dies (its sockets closed by the kernel) ----

    /** Before, the kernel closed the dead client's socket to the target with a FIN: the cut upload looked whole. */
    @Test
    void targetConnectionIsResetWhenTheClientProcessIsKilled() throws Exception {
        targetConnectionIsResetWhenTheTunnelIsCut(() -> {
            try {
                client.kill();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    // ---- targets, when their service or its tunnel goes away (before: a clean EOF) ----

    @Test
    void targetConnectionIsResetWhenItsServiceIsDisabled() throws Exception {
        targetConnectionIsResetWhenTheServiceIsCut(serviceId -> testbed.api().patch("/api/services/" + serviceId,
                "{\"enabled\":false}"));
    }

    @Test
    void targetConnectionIsResetWhenItsServiceIsDeleted() throws Exception {
        targetConnectionIsResetWhenTheServiceIsCut(serviceId -> testbed.api().delete("/api/services/" + serviceId));
    }

    @Test
    void targetConnectionIsResetWhenItsTunnelIsDeleted() throws Exception {
        targetConnectionIsResetWhenTheServiceIsCut(serviceId -> testbed.api().delete("/api/tunnels/" + tunnelId));
    }

    private void targetConnectionIsResetWhenTheServiceIsCut(Function<String, ApiClient.Response> cut) throws Exception {
        target = FaultTarget.sink(MiB);
        TcpServicePorts.Created created = testbed.createTcpServiceOnFreePort(tunnelId, target.address());
        int port = created.port();
        String serviceId = created.id();
        try (Socket visitor = FaultTarget.connect(port, READ_TIMEOUT)) {
            uploadInBackground(visitor);
            await().atMost(30, TimeUnit.SECONDS).until(() -> target.read() >= MiB);

            ApiClient.Response answer = cut.apply(serviceId);
            assertThat(answer.status()).as(answer.toString()).isIn(200, 204);
            target.resume();

            // (The visitor's socket is reset too, as before; its upload's failed write takes that error, so a read
            // after it cannot tell.)
            assertThat(target.readEnd(30, TimeUnit.SECONDS)).isEqualTo("reset: Connection reset");
        }
    }

    /** An upload through a tcp service, the tunnel cut by {@code cut} once a MiB is through: the target gets a reset. */
    private void targetConnectionIsResetWhenTheTunnelIsCut(Runnable cut) throws Exception {
        target = FaultTarget.sink(MiB);
        int port = tcpService();
        try (Socket visitor = FaultTarget.connect(port, READ_TIMEOUT)) {
            uploadInBackground(visitor);
            await().atMost(30, TimeUnit.SECONDS).until(() -> target.read() >= MiB);

            cut.run();
            target.resume();

            assertThat(target.readEnd(30, TimeUnit.SECONDS)).isEqualTo("reset: Connection reset");
            assertThat(target.read()).isLessThan(SIZE);
        }
    }

    // ---- helpers ----

    private int tcpService() {
        int port = testbed.createTcpServiceOnFreePort(tunnelId, target.address()).port();
        return port;
    }

    /** A connection to the HTTP port for an http service to a new {@link FaultTarget#http()} target. */
    private Socket httpVisitor() throws IOException {
        target = FaultTarget.http();
        return FaultTarget.connect(httpService(), READ_TIMEOUT);
    }

    private int httpService() {
        testbed.createService(tunnelId, "{\"type\":\"http\",\"domain\":\"" + HOST + "\",\"path_prefix\":\"/\","
                + "\"target_addr\":\"" + target.address() + "\"}");
        return testbed.server().httpPort();
    }

    /**
     * A connection to the HTTPS port for a passthrough service to the target, after a real ClientHello naming it; what
     * comes back is the target's bytes as they are (the target here speaks no TLS: the proxy does not look).
     */
    private Socket passthrough() throws Exception {
        String domain = "pass.test";
        testbed.createService(tunnelId, "{\"type\":\"http\",\"domain\":\"" + domain + "\",\"tls_mode\":\"passthrough\","
                + "\"target_addr\":\"" + target.address() + "\"}");
        Socket visitor = FaultTarget.connect(testbed.server().httpsPort(), READ_TIMEOUT);
        visitor.getOutputStream().write(ClientHellos.record(domain));
        visitor.getOutputStream().flush();
        return visitor;
    }

    private static InputStream get(Socket visitor, String path) throws IOException {
        FaultTarget.writeGet(visitor, "HTTP/1.1", HOST, path);
        return new BufferedInputStream(visitor.getInputStream());
    }

    private static InputStream get10(Socket visitor, String path) throws IOException {
        FaultTarget.writeGet(visitor, "HTTP/1.0", HOST, path);
        return new BufferedInputStream(visitor.getInputStream());
    }

    /** Writes pattern bytes to {@code visitor} until {@link #SIZE} or until the connection fails. */
    private static void uploadInBackground(Socket visitor) {
        Thread.ofVirtual().name("visitor-upload").start(() -> {
            byte[] chunk = new byte[64 * 1024];
            try {
                OutputStream out = visitor.getOutputStream();
                for (long sent = 0; sent < SIZE; sent += chunk.length) {
                    out.write(chunk);
                }
            } catch (IOException e) {
                // the tunnel went away: what the test looks at is the target's side
            }
        });
    }

    /** GETs {@code path} on the visitor's connection; the answer's head must be a 200 with a chunked body. */
    private static ChunkedBody chunkedDownload(Socket visitor, String path) throws IOException {
        InputStream in = get(visitor, path);
        assertThat(FaultTarget.readHead(in)).containsEntry("status", "200").containsEntry("transfer-encoding", "chunked");
        return new ChunkedBody(in);
    }

    /** Reads a chunked body, and tells how it stopped. */
    private static final class ChunkedBody {
        private final InputStream in;
        private final byte[] buffer = new byte[64 * 1024];
        private long bytes;
        private long leftInChunk;

        ChunkedBody(InputStream in) {
            this.in = in;
        }

        long bytes() {
            return bytes;
        }

        /**
         * Reads until at least {@code limit} body bytes have been read ({@code "limit"}), the final chunk
         * ({@code "final chunk"}), EOF ({@code "eof"}) or a reset ({@code "reset: <message>"}).
         */
        String readUntil(long limit) throws IOException {
            try {
                while (bytes < limit) {
                    if (leftInChunk == 0) {
                        String size = FaultTarget.readLine(in);
                        if (size == null) {
                            return "eof";
                        }
                        leftInChunk = Long.parseLong(size.trim(), 16);
                        if (leftInChunk == 0) {
                            return "final chunk";
                        }
                    }
                    int n = in.read(buffer, 0, (int) Math.min(buffer.length, leftInChunk));
                    if (n < 0) {
                        return "eof";
                    }
                    bytes += n;
                    leftInChunk -= n;
                    if (leftInChunk == 0 && FaultTarget.readLine(in) == null) {
                        return "eof";
                    }
                }
                return "limit";
            } catch (SocketException e) {
                return "reset: " + e.getMessage();
            }
        }
    }
}
