package io.picotunnel.protocol.yamux;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.relay.Relay;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static io.picotunnel.testkit.SocketEnding.readToEndOrReset;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Streams relayed to a target that never reads, each ended on the wire both ways (the peer's data and FIN, the
 * target's FIN passed on as ours) before its session is lost, in several sessions in a row, as a client whose
 * connection to the server keeps dropping: the bytes they hold are kept for their readers after the session ends,
 * but readers that take none of them for the stalled reader timeout lose them (reset, the target reset too), so what
 * the process holds comes back to 0 instead of growing by up to a window per lost session, for good.
 */
class StalledReaderAfterSessionEndTest {

    private static final int SESSIONS = 3;
    private static final Duration STALLED_READER_TIMEOUT = Duration.ofSeconds(2);

    private final YamuxConfig config = YamuxConfig.defaults().withKeepAliveInterval(Duration.ZERO)
            .withStalledReaderTimeout(STALLED_READER_TIMEOUT);
    private final List<YamuxSession> sessions = new CopyOnWriteArrayList<>();
    private final LinkedBlockingQueue<YamuxStreamChannel> relayedStreams = new LinkedBlockingQueue<>();
    private final List<Socket> targets = new ArrayList<>();
    /** The targets of the leftover streams. */
    private final List<Socket> stalledTargets = new ArrayList<>();
    private EventLoopGroup group;
    private ServerSocket targetListener;
    private Channel listener;

    @BeforeEach
    void setUp() throws Exception {
        group = Transport.newEventLoopGroup(2, "stalled-reader");
        targetListener = new ServerSocket();
        // Small buffers on the way to the target, so most of what the stream receives waits in the stream.
        targetListener.setReceiveBufferSize(1024);
        targetListener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        targetListener.setSoTimeout(10_000);
        // The side under test: each stream the peer opens is relayed to a new connection to the target.
        listener = new ServerBootstrap().group(group).channel(Transport.serverSocketChannel())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        YamuxSession session = new YamuxSession(YamuxRole.CLIENT, config, new ChannelInitializer<>() {
                            @Override
                            protected void initChannel(Channel stream) {
                                stream.config().setAutoRead(false);
                                relayToTarget((YamuxStreamChannel) stream);
                            }
                        });
                        sessions.add(session);
                        ch.pipeline().addLast(session);
                    }
                })
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
    }

    private void relayToTarget(YamuxStreamChannel stream) {
        new Bootstrap().group(group).channel(Transport.socketChannel())
                .option(ChannelOption.SO_SNDBUF, 1024)
                // The relay stops reading the stream after its first 64 KiB frame, the rest of the window waits.
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(1024, 2048))
                .option(ChannelOption.AUTO_READ, false)
                .handler(new ChannelInboundHandlerAdapter())
                .connect(targetListener.getLocalSocketAddress())
                .addListener((ChannelFuture connected) -> {
                    if (connected.isSuccess()) {
                        Relay.start(stream, connected.channel());
                        relayedStreams.add(stream);
                    } else {
                        stream.reset();
                    }
                });
    }

    @AfterEach
    void tearDown() throws IOException {
        for (Socket target : targets) {
            target.close();
        }
        if (listener != null) {
            listener.close().awaitUninterruptibly(10, TimeUnit.SECONDS);
        }
        if (targetListener != null) {
            targetListener.close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }

    @Test
    void streamsLeftByLostSessionsWithReadersThatNeverReadGiveTheirBytesBack() throws Exception {
        List<YamuxStreamChannel> leftovers = new ArrayList<>();
        for (int attempt = 0; attempt < 5 * SESSIONS && leftovers.size() < SESSIONS; attempt++) {
            YamuxStreamChannel leftover = leaveAStalledStreamBehind();
            if (leftover != null) {
                leftovers.add(leftover);
            }
        }
        assertThat(leftovers).hasSize(SESSIONS);
        assertThat(heldByAllSessions()).as("each lost session left its stream's bytes behind").isPositive();

        await("every leftover stream is reset").atMost(Duration.ofSeconds(20))
                .until(() -> leftovers.stream().allMatch(s -> s.isReset() && !s.isOpen()));
        assertThat(heldByAllSessions()).isZero();
        for (Socket target : stalledTargets) {
            assertThat(readToEndOrReset(target.getInputStream()).how()).as("the target hears the data was lost")
                    .startsWith("reset");
        }
    }

    /**
     * One session: a stream ended both ways that holds bytes its target never reads, then the session is lost; null
     * when the target's kernel buffers took all of the stream's data.
     */
    private YamuxStreamChannel leaveAStalledStreamBehind() throws Exception {
        int before = sessions.size();
        YamuxSession peer = new YamuxSession(YamuxRole.SERVER, config, null);
        Channel connection = new Bootstrap().group(group).channel(Transport.socketChannel()).handler(peer)
                .connect(listener.localAddress()).sync().channel();
        try {
            YamuxStreamChannel farStream = peer.openStream(new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    ((ByteBuf) msg).release();
                }
            }).get(10, TimeUnit.SECONDS);
            Socket target = targetListener.accept();
            targets.add(target);
            // Its reset is read at the end: a target left open must fail that read, not hang it.
            target.setSoTimeout(10_000);
            // The target never reads, and ends its own data at once.
            target.shutdownOutput();
            farStream.write(Unpooled.wrappedBuffer(new byte[YamuxConfig.INITIAL_STREAM_WINDOW]));
            farStream.shutdownOutput();
            YamuxStreamChannel stream = relayedStreams.poll(10, TimeUnit.SECONDS);
            assertThat(stream).isNotNull();
            YamuxSession session = sessions.get(before);
            await("ended both ways on the wire, holding bytes").atMost(Duration.ofSeconds(10))
                    .until(() -> !stream.isOpen() || farStream.isInputShutdown()
                            && onLoop(session, () -> session.activeStreams() == 0 && session.inboundHeld() > 0));
            if (!stream.isOpen()) {
                // The kernel's buffers took the whole window after all, and the relay ended: no leftover this time.
                return null;
            }
            // The connection ends without a word, as when the peer process dies or the network drops it.
            connection.config().setOption(ChannelOption.SO_LINGER, 0);
            connection.close().sync();
            await("the session ends").atMost(Duration.ofSeconds(10)).until(() -> !session.parent().isActive());
            assertThat(stream.isOpen()).as("its data is complete and stays its reader's for now").isTrue();
            stalledTargets.add(target);
            return stream;
        } finally {
            connection.close();
        }
    }

    private long heldByAllSessions() throws Exception {
        long held = 0;
        for (YamuxSession session : sessions) {
            held += session.parent().eventLoop().submit(session::inboundHeld).get(10, TimeUnit.SECONDS);
        }
        return held;
    }

    private static <T> T onLoop(YamuxSession session, Callable<T> task) throws Exception {
        return session.parent().eventLoop().submit(task).get(10, TimeUnit.SECONDS);
    }
}
