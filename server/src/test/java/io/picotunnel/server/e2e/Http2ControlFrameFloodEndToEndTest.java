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
    /** 17 MB of PINGs: their ACKs are far more than the sockets' buffers (4 MiB at most to send) and 10000 hold. */
    private static final long PINGS = 1_000_000;

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

            long sent = visitor.floodPings(PINGS);
            // Closed with input unread, the server's socket would send a reset and drop the GOAWAY it queued.
            await("the server read the flood").atMost(Duration.ofSeconds(30)).until(() -> unreadByTheServer(visitor) == 0);
            visitor.resumeReading();

            await("the server's end of the connection").atMost(Duration.ofSeconds(60)).until(visitor::ended);
            assertThat(visitor.goAwayError()).as("the GOAWAY's error code").isEqualTo(ENHANCE_YOUR_CALM);
            assertThat(visitor.pingAcks()).as("PING ACKs of %d PINGs", sent).isLessThan(sent);
        }
    }

    private long unreadByTheServer(RawHttp2Visitor visitor) throws IOException {
        KernelSocket socket = KernelSocket.find(tunnel.server().httpsPort(), visitor.localPort());
        return socket == null ? 0 : socket.unread();
    }
}
