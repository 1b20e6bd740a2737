package io.picotunnel.server.e2e;

import io.picotunnel.server.config.Setting;
import io.picotunnel.testkit.KernelSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A visitor that floods PINGs and reads none of their ACKs: the ACKs fill the sockets' buffers, then queue in the
 * server, and past Netty's limit of queued control frames (maxQueuedControlFrames, 10000 by default, on in our codec)
 * the server ends the connection with GOAWAY(ENHANCE_YOUR_CALM) instead of queueing more. The same bound holds for
 * what the server reads of such frames at a visitor's FIN, which HTTP/2 connections read to the end. Real server and
 * client, a visitor writing HTTP/2 frames by hand over TLS.
 */
class Http2ControlFrameFloodEndToEndTest {

    private static final String HOST = "flood.test";
    private static final long ENHANCE_YOUR_CALM = 0xb;
    private static final int BATCH = 1000;
    /** More than the 10000 ACKs Netty queues unsent: the flood goes past its limit within these PINGs. */
    private static final long PAST_THE_LIMIT = 20_000;
    /** Bounds the filling of the buffers: 4 MiB of send buffer hold under 250 thousand ACKs. */
    private static final int MAX_BATCHES = 1000;

    @TempDir
    Path dataDir;

    private HttpsHostTunnel tunnel;

    @BeforeEach
    void start() throws IOException {
        ServerSocket target = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        // A connection that opens no stream gets GOAWAY(NO_ERROR) at the header timeout: not before the flood's.
        tunnel = new HttpsHostTunnel(dataDir, Map.of(Setting.HEADER_TIMEOUT, "10m"), HOST, UnaryOperator.identity(),
                target::close, target.getLocalPort());
    }

    @AfterEach
    void stop() throws IOException {
        if (tunnel != null) {
            tunnel.close();
        }
    }

    @Test
    void aPingFloodWhoseAcksAreNotReadGetsGoAwayEnhanceYourCalm() throws Exception {
        try (RawHttp2Visitor visitor = tunnel.visitor()) {
            visitor.ping();
            visitor.holdReading();

            long sent = fillTheBuffersWithAcks(visitor);
            sent += visitor.floodPings(PAST_THE_LIMIT);
            // Past the limit the server sends GOAWAY behind the ACKs it has queued and closes, and TLS gives up what
            // is left unsent 3 s after the close (HttpsFrontDoor.CLOSE_NOTIFY_FLUSH_TIMEOUT): read at once.
            visitor.resumeReading();

            await("the server's end of the connection").atMost(Duration.ofSeconds(30)).until(visitor::ended);
            assertThat(visitor.goAwayError()).as("the GOAWAY's error code").isEqualTo(ENHANCE_YOUR_CALM);
            assertThat(visitor.pingAcks()).as("PING ACKs of %d PINGs", sent).isLessThan(sent);
        }
    }

    /**
     * Sends PINGs a thousand at a time until the ACKs in the sockets' buffers (the server's to send, the visitor's
     * unread) stop growing once the server has read every PING: the next ACKs queue in the server. Answers the PINGs
     * sent.
     */
    private long fillTheBuffersWithAcks(RawHttp2Visitor visitor) throws IOException {
        long sent = 0;
        long buffered = -1;
        for (int batch = 0; batch < MAX_BATCHES; batch++) {
            sent += visitor.floodPings(BATCH);
            await("the server read the PINGs").atMost(Duration.ofSeconds(30))
                    .until(() -> unreadByTheServer(visitor) == 0);
            long now = acksInTheBuffers(visitor);
            if (now == buffered) {
                return sent;
            }
            buffered = now;
        }
        throw new AssertionError("the ACKs in the sockets' buffers still grew after " + sent + " PINGs");
    }

    private long unreadByTheServer(RawHttp2Visitor visitor) throws IOException {
        KernelSocket server = KernelSocket.find(tunnel.server().httpsPort(), visitor.localPort());
        KernelSocket visitorSide = KernelSocket.find(visitor.localPort(), tunnel.server().httpsPort());
        return (server == null ? 0 : server.unread()) + (visitorSide == null ? 0 : visitorSide.queued());
    }

    private long acksInTheBuffers(RawHttp2Visitor visitor) throws IOException {
        KernelSocket server = KernelSocket.find(tunnel.server().httpsPort(), visitor.localPort());
        KernelSocket visitorSide = KernelSocket.find(visitor.localPort(), tunnel.server().httpsPort());
        return (server == null ? 0 : server.queued()) + (visitorSide == null ? 0 : visitorSide.unread());
    }
}
