package io.picotunnel.server.tunnel;

import ch.qos.logback.classic.Level;
import io.netty.channel.DefaultChannelPipeline;
import io.netty.channel.epoll.PeerResetWhileIdleException;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.yamux.ResetReason;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.server.config.Setting;
import io.picotunnel.testkit.EpollInterest;
import io.picotunnel.testkit.KernelSocket;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;

import static io.picotunnel.server.tunnel.RawTunnelClient.FLAG_RST;
import static io.picotunnel.server.tunnel.RawTunnelClient.TYPE_WINDOW_UPDATE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A client that resets a tcp visitor's stream before acknowledging it, for a reason that is no refusal (here: it is
 * stopping and its grace ended), with no client having refused the stream before: the visitor is reset and the log
 * says why. So is a visitor whose stream the client never acknowledges, at the server's stream open timeout
 * ({@code --stream-open-timeout}, 2 s here). A client speaking yamux by hand sends the reset, or stays silent, as no
 * client of ours is made to at that moment. The other way round, a visitor's reset before the ACK resets its stream.
 */
class TcpStreamBridgeUnacknowledgedResetTest {

    private static final int EPOLLIN = 0x1;

    @TempDir
    Path dataDir;

    private RawClientTunnel bed;

    private void start(Map<Setting, String> settings) {
        bed = new RawClientTunnel(dataDir, "raw", "raw.test", settings);
    }

    @AfterEach
    void stop() {
        if (bed != null) {
            bed.close();
        }
    }

    @Test
    void aStreamResetBeforeItsAckForAReasonThatIsNoRefusalResetsTheVisitorAndSaysWhy() throws Exception {
        start(Map.of());
        try (RawTunnelClient client = bed.connect();
             LogCapture log = new LogCapture(TcpStreamBridge.class, Level.INFO);
             Socket visitor = new Socket(InetAddress.getLoopbackAddress(), bed.tunnel.tcpPort)) {
            visitor.setSoTimeout(10_000);
            visitor.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
            RawTunnelClient.Frame syn = RawClientTunnel.awaitFirstSyn(client);

            client.send(RawTunnelClient.header(TYPE_WINDOW_UPDATE, FLAG_RST, syn.streamId(),
                    ResetReason.CLIENT_STOPPING.code()));

            assertThatThrownBy(() -> visitor.getInputStream().read())
                    .isInstanceOf(SocketException.class).hasMessageContaining("reset");
            await().atMost(10, TimeUnit.SECONDS).untilAsserted(() -> assertThat(log.messages(Level.INFO))
                    .singleElement().asString()
                    .contains("the tunnel's client is stopping", "is reset")
                    .doesNotContain("refused"));
        }
    }

    /**
     * A visitor that ends its output and then resets while its stream waits for the client's ACK: the server read its
     * end (kept for the relay), and Netty's epoll reads a socket no more after its end, so nothing told of the reset:
     * the stream waited for the stream open timeout (30 s), the socket's loop spinning on the reset's EPOLLERR and
     * EPOLLHUP. The stream is reset at once, and the visitor's failure is taken before the pipeline's tail, which
     * would log it as a WARN for a handler that forgot it.
     */
    @Test
    void aVisitorResetAfterItsEndBeforeTheStreamsAckHasItsStreamResetAtOnce() throws Exception {
        assumeTrue(Transport.isEpoll(), "the epoll transport: on NIO nothing sees the reset until a write fails");
        start(Map.of());
        Socket visitor = new Socket();
        try (RawTunnelClient client = bed.connect();
             LogCapture pipelineTail = new LogCapture(DefaultChannelPipeline.class, Level.WARN)) {
            visitor.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), bed.tunnel.tcpPort));
            visitor.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
            visitor.shutdownOutput();
            RawTunnelClient.Frame syn = RawClientTunnel.awaitFirstSyn(client);
            await("the server read the visitor's bytes and end").atMost(10, TimeUnit.SECONDS)
                    .until(() -> readAllAndAsksForNoMore(bed.tunnel.tcpPort, visitor.getLocalPort()));

            visitor.setSoLinger(true, 0);
            visitor.close();

            await("the server's reset of the stream").atMost(3, TimeUnit.SECONDS)
                    .until(() -> client.frames().stream()
                            .anyMatch(f -> f.streamId() == syn.streamId() && (f.flags() & FLAG_RST) != 0));
            // Fired and closed on the socket's loop before the stream's reset left it.
            String failure = PeerResetWhileIdleException.class.getName();
            assertThat(pipelineTail.events()).as("the visitor's failure left to the pipeline's tail")
                    .noneMatch(e -> e.getThrowableProxy() != null
                            && e.getThrowableProxy().getClassName().equals(failure));
        } finally {
            visitor.close();
        }
    }

    private static boolean readAllAndAsksForNoMore(int localPort, int remotePort) throws IOException {
        KernelSocket socket = KernelSocket.find(localPort, remotePort);
        if (socket == null || socket.state() != KernelSocket.CLOSE_WAIT || socket.unread() > 0) {
            return false;
        }
        OptionalInt events = EpollInterest.of(socket.inode());
        return events.isPresent() && (events.getAsInt() & EPOLLIN) == 0;
    }

    @Test
    void aStreamTheClientNeverAcknowledgesResetsTheVisitorAtTheStreamOpenTimeoutAndSaysWhy() throws Exception {
        start(Map.of(Setting.STREAM_OPEN_TIMEOUT, "2s"));
        try (RawTunnelClient client = bed.connect();
             LogCapture log = new LogCapture(TcpStreamBridge.class, Level.INFO);
             LogCapture yamux = new LogCapture(YamuxSession.class, Level.WARN);
             Socket visitor = new Socket(InetAddress.getLoopbackAddress(), bed.tunnel.tcpPort)) {
            // Below the 30 s default: a setting that did not apply ends the read with a timeout instead of the reset.
            visitor.setSoTimeout(20_000);
            visitor.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
            RawTunnelClient.Frame syn = RawClientTunnel.awaitFirstSyn(client);

            assertThatThrownBy(() -> visitor.getInputStream().read())
                    .isInstanceOf(SocketException.class).hasMessageContaining("reset");
            // The visitor's reset and the stream's RST frame leave the server independently: the frame may come later.
            await().atMost(10, TimeUnit.SECONDS).untilAsserted(() -> assertThat(client.frames())
                    .as("the server's reset of the stream")
                    .anyMatch(f -> f.streamId() == syn.streamId() && (f.flags() & FLAG_RST) != 0));
            await().atMost(10, TimeUnit.SECONDS).untilAsserted(() -> assertThat(log.messages(Level.INFO))
                    .singleElement().asString()
                    .contains("the tunnel's client did not acknowledge the stream within 2 s (the server's"
                            + " --stream-open-timeout), so the server reset it; the connection from /127.0.0.1:")
                    .endsWith(" is reset").doesNotContain("refused"));
            assertThat(yamux.messages(Level.WARN)).as("the setting is the timeout that applied")
                    .anyMatch(m -> m.endsWith("no ACK for stream " + syn.streamId() + " within 2 s, resetting it"));
        }
    }
}
