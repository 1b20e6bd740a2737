package io.picotunnel.protocol.yamux;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A peer that leaves a ping unanswered, the start-up ping or a later keepalive, gets GoAway(protocol error) before
 * its connection is closed, as for any other fault of the peer, not a bare close: a peer that is only slow learns why.
 * The peer is a real loopback socket that reads every frame the session sends.
 */
class UnansweredPingGoAwayTest {

    private static final int TYPE_DATA = 0;
    private static final int TYPE_PING = 2;
    private static final int TYPE_GO_AWAY = 3;

    private EventLoopGroup group;

    @BeforeEach
    void loop() {
        group = Transport.newEventLoopGroup(1, "unanswered-ping");
    }

    @AfterEach
    void close() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }

    @Test
    void aPeerThatLeavesTheStartUpPingUnansweredGetsGoAwayProtocolErrorBeforeTheClose() throws Exception {
        YamuxConfig config = YamuxConfig.defaults().withPingTimeout(Duration.ofMillis(500));
        try (FramesPeer peer = new FramesPeer(false)) {
            assertGoAwayProtocolErrorThenClose(config, peer);
        }
    }

    @Test
    void aPeerThatLeavesAKeepaliveUnansweredGetsGoAwayProtocolErrorBeforeTheClose() throws Exception {
        YamuxConfig config = YamuxConfig.defaults().withKeepAliveInterval(Duration.ofMillis(300));
        try (FramesPeer peer = new FramesPeer(true)) {
            assertGoAwayProtocolErrorThenClose(config, peer);
            assertThat(peer.frames.stream().filter(f -> f.type == TYPE_PING).count())
                    .as("the start-up ping, answered, and keepalives").isGreaterThanOrEqualTo(2);
        }
    }

    private void assertGoAwayProtocolErrorThenClose(YamuxConfig config, FramesPeer peer) throws Exception {
        YamuxSession session = new YamuxSession(YamuxRole.CLIENT, config, new ChannelInboundHandlerAdapter());
        Channel parent = new Bootstrap().group(group).channel(Transport.socketChannel()).handler(session)
                .connect(peer.address()).sync().channel();
        try {
            await("the session closed").atMost(Duration.ofSeconds(10)).until(() -> !parent.isOpen());
            await("the peer read to the end").atMost(Duration.ofSeconds(10)).until(peer.ended::get);

            Frame last = peer.frames.getLast();
            assertThat(last.type).as("the last frame's type").isEqualTo(TYPE_GO_AWAY);
            assertThat(last.length).as("its code").isEqualTo(GoAwayCode.PROTOCOL_ERROR.code());
        } finally {
            parent.close().awaitUninterruptibly(10, TimeUnit.SECONDS);
        }
    }

    private record Frame(int type, int flags, int length) {
    }

    /** Accepts one connection and reads its frames to the end; answers the first ping only when asked to. */
    private static final class FramesPeer implements AutoCloseable {

        final List<Frame> frames = new CopyOnWriteArrayList<>();
        final AtomicBoolean ended = new AtomicBoolean();
        private final ServerSocket listener;
        private final boolean answerFirstPing;
        private volatile Socket socket;

        FramesPeer(boolean answerFirstPing) throws IOException {
            this.answerFirstPing = answerFirstPing;
            listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
            Thread.ofVirtual().name("frames-peer").start(this::serve);
        }

        InetSocketAddress address() {
            return new InetSocketAddress(listener.getInetAddress(), listener.getLocalPort());
        }

        private void serve() {
            try (Socket accepted = listener.accept()) {
                socket = accepted;
                DataInputStream in = new DataInputStream(accepted.getInputStream());
                OutputStream out = accepted.getOutputStream();
                boolean answered = false;
                byte[] header = new byte[12];
                // Bounded by the session's close; the count only keeps the loop finite.
                for (int i = 0; i < 100_000; i++) {
                    in.readFully(header);
                    ByteBuffer h = ByteBuffer.wrap(header);
                    Frame frame = new Frame(header[1], h.getShort(2) & 0xffff, h.getInt(8));
                    frames.add(frame);
                    if (frame.type == TYPE_DATA) {
                        in.skipNBytes(frame.length);
                    }
                    if (frame.type == TYPE_PING && (frame.flags & 0x1) != 0 && answerFirstPing && !answered) {
                        answered = true;
                        out.write(ByteBuffer.allocate(12).put((byte) 0).put((byte) TYPE_PING).putShort((short) 0x2)
                                .putInt(0).putInt(frame.length).array());
                        out.flush();
                    }
                }
            } catch (IOException end) {
                // EOF or reset: the session closed the connection.
                ended.set(true);
            }
        }

        @Override
        public void close() throws IOException {
            listener.close();
            Socket s = socket;
            if (s != null) {
                s.close();
            }
        }
    }
}
