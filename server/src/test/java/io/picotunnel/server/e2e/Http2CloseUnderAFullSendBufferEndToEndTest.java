package io.picotunnel.server.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.server.tls.TestCertificates;
import io.picotunnel.testkit.KernelSocket;
import org.junit.jupiter.api.AfterEach;
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
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The server closes an HTTP/2 connection whose visitor reads nothing while a long answer fills the server's socket
 * send buffer: the GOAWAY it sends first can never be written, and the close does not wait on it for longer than the
 * TLS handler's close_notify flush timeout, after which the socket is closed beneath the codec. At a FIN, and at the
 * idle close (--keepalive-timeout) of a connection whose visitor cancelled its stream. Real server, our client in process, a socket target sending mebibytes, a visitor writing HTTP/2 frames
 * by hand over TLS that opens the windows wide and then stops reading.
 */
class Http2CloseUnderAFullSendBufferEndToEndTest {

    private static final String HOST = "stream.test";
    private static final long MiB = 1024 * 1024;
    /**
     * The server's socket is closed within this of the reason to close it: the close_notify flush timeout (3 s) with
     * room to spare; a socket that stays open fails.
     */
    private static final Duration CLOSE_BOUND = Duration.ofSeconds(8);

    @TempDir
    Path dataDir;

    private final TestCertificates ca = new TestCertificates();
    private Testbed testbed;
    private EndlessTarget target;
    private String tunnelId;

    private void start(Map<Setting, String> settings) throws IOException {
        TestCertificates.write(ca.issue(HOST), dataDir.resolve("certs"), HOST);
        testbed = new Testbed(dataDir, settings);
        JsonNode tunnel = testbed.createTunnel("stream");
        tunnelId = tunnel.get("id").asText();
        testbed.startClient(tunnel.get("token").asText());
        await().atMost(10, TimeUnit.SECONDS).until(() -> testbed.isConnected(tunnelId));
        target = new EndlessTarget();
        testbed.createService(tunnelId, "{\"type\":\"http\",\"domain\":\"" + HOST + "\",\"path_prefix\":\"/\","
                + "\"target_addr\":\"127.0.0.1:" + target.port() + "\"}");
    }

    @AfterEach
    void stop() throws IOException {
        if (testbed != null) {
            testbed.close();
        }
        if (target != null) {
            target.close();
        }
    }

    @Test
    void aFinWhileTheAnswerFillsTheSendBufferClosesTheServersSocketWithinTheBound() throws Exception {
        start(Map.of());
        int httpsPort = testbed.server().httpsPort();
        try (RawHttp2Visitor visitor = stalledVisitor(httpsPort)) {
            YamuxSession session = testbed.server().registry().connections(tunnelId).getFirst().session();

            visitor.endTcpOutput();
            await().atMost(CLOSE_BOUND).until(() -> closedByTheServer(httpsPort, visitor.localPort()));
            await().atMost(10, TimeUnit.SECONDS).until(target::cutByTheProxy);
            await().atMost(10, TimeUnit.SECONDS).until(() -> session.activeStreams() == 0);
            visitor.resumeReading();
            visitor.awaitClosedByServer(Duration.ofSeconds(20));
            assertThat(visitor.endOfStream(1)).as("the answer, cut, looks complete").isFalse();
        }
    }

    @Test
    void anIdleCloseWhileWhatWasSentFillsTheSendBufferClosesTheServersSocketWithinTheBound() throws Exception {
        start(Map.of(Setting.KEEPALIVE_TIMEOUT, "1s"));
        int httpsPort = testbed.server().httpsPort();
        try (RawHttp2Visitor visitor = stalledVisitor(httpsPort)) {
            YamuxSession session = testbed.server().registry().connections(tunnelId).getFirst().session();

            visitor.cancel(1);
            await().atMost(10, TimeUnit.SECONDS).until(target::cutByTheProxy);
            await().atMost(10, TimeUnit.SECONDS).until(() -> session.activeStreams() == 0);
            await().atMost(CLOSE_BOUND.plusSeconds(1)).until(() -> closedByTheServer(httpsPort, visitor.localPort()));
            visitor.resumeReading();
            visitor.awaitClosedByServer(Duration.ofSeconds(20));
        }
    }

    /**
     * A visitor whose GET on stream 1 is being answered with a long body, which it stopped reading: the target's
     * writes have stopped and the server's socket holds unsent bytes.
     */
    private RawHttp2Visitor stalledVisitor(int httpsPort) throws IOException {
        RawHttp2Visitor visitor = RawHttp2Visitor.connect(httpsPort, HOST, ca.clientContext());
        visitor.openWindows();
        visitor.get(1, "/endless");
        visitor.awaitRead("the 200 of /endless", Duration.ofSeconds(10), () -> "200".equals(visitor.status(1)));
        visitor.holdReading();
        Uploads.awaitWritesStopped(target.written);
        assertThat(target.written.get()).as("the answer is longer than the buffers on the way").isGreaterThan(MiB);
        KernelSocket serverSide = KernelSocket.find(httpsPort, visitor.localPort());
        assertThat(serverSide).isNotNull();
        assertThat(serverSide.queued()).as("bytes the server's socket holds unsent").isGreaterThan(64 * 1024);
        return visitor;
    }

    /** The server's process closed its socket of the connection: gone, or left to the kernel (no inode). */
    private static boolean closedByTheServer(int httpsPort, int visitorPort) throws IOException {
        KernelSocket serverSide = KernelSocket.find(httpsPort, visitorPort);
        return serverSide == null || serverSide.inode() == 0;
    }

    /** Answers its one request with the head of a 1 GiB body and writes it until its connection is cut. */
    private static final class EndlessTarget implements AutoCloseable {
        private static final long LENGTH = 1024 * MiB;
        private final ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        final AtomicLong written = new AtomicLong();
        private volatile Socket socket;
        private volatile boolean cut;

        EndlessTarget() throws IOException {
            Thread.ofVirtual().name("endless-target").start(this::serveOne);
        }

        int port() {
            return server.getLocalPort();
        }

        boolean cutByTheProxy() {
            return cut;
        }

        private void serveOne() {
            try (Socket accepted = server.accept()) {
                socket = accepted;
                InputStream in = new BufferedInputStream(accepted.getInputStream());
                Uploads.readContentLength(in); // the head, to its empty line
                OutputStream out = accepted.getOutputStream();
                out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + LENGTH + "\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                byte[] piece = new byte[64 * 1024];
                while (written.get() < LENGTH) {
                    out.write(piece);
                    written.addAndGet(piece.length);
                }
            } catch (IOException e) {
                cut = true;
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
            Socket accepted = socket;
            if (accepted != null) {
                accepted.close();
            }
        }
    }
}
