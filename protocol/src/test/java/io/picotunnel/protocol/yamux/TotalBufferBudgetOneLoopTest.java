package io.picotunnel.protocol.yamux;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Two server sessions on ONE event loop share a {@link TotalBufferBudget} of three windows, over real loopback
 * connections from two client sessions that each write whole windows into streams whose readers never read. The
 * reset one session's frame asks of the other runs as a task of that same loop, after the frame.
 */
class TotalBufferBudgetOneLoopTest {

    private static final int WINDOW = YamuxSpec.INITIAL_STREAM_WINDOW;
    private static final Duration WAIT = Duration.ofSeconds(30);

    private final EventLoopGroup serverLoop = Transport.newEventLoopGroup(1, "budget-one-loop");
    private final EventLoopGroup clientLoops = Transport.newEventLoopGroup(2, "budget-clients");
    private final TotalBufferBudget budget = new TotalBufferBudget(3L * WINDOW);
    private final List<YamuxSession> serverSessions = new CopyOnWriteArrayList<>();
    private final List<Channel> clientParents = new ArrayList<>();

    @AfterEach
    void close() {
        clientParents.forEach(c -> c.close().awaitUninterruptibly(10, TimeUnit.SECONDS));
        serverLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
        clientLoops.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }

    @Test
    void theSessionHoldingTheMostOnTheSameLoopPaysNotTheOneWhoseFrameWentOver() throws Exception {
        YamuxConfig serverConfig = YamuxConfig.fixedWindow(WINDOW).withKeepAliveInterval(Duration.ZERO)
                .withSessionBufferLimit(8L * WINDOW).withTotalBufferBudget(budget);
        Channel listener = new ServerBootstrap().group(serverLoop).channel(Transport.serverSocketChannel())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        YamuxSession session = new YamuxSession(YamuxRole.SERVER, serverConfig,
                                new ChannelInitializer<>() {
                                    @Override
                                    protected void initChannel(Channel stream) {
                                        stream.config().setAutoRead(false);
                                    }
                                });
                        ch.pipeline().addLast(session);
                        serverSessions.add(session);
                    }
                })
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
        clientParents.add(listener);
        YamuxSession full = connect(listener);
        List<YamuxStreamChannel> fullStreams = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            fullStreams.add(sendWindow(full));
        }
        await().atMost(WAIT).until(() -> budget.held() == 3L * WINDOW);
        assertThat(serverSessions).hasSize(1);
        YamuxSession fullServer = serverSessions.get(0);

        YamuxSession small = connect(listener);
        YamuxStreamChannel kept = sendWindow(small);
        await().atMost(WAIT).until(() -> fullStreams.stream().filter(s -> !s.isActive()).count() == 1
                && budget.held() == 3L * WINDOW);
        YamuxSession smallServer = serverSessions.get(1);
        assertThat(onLoop(fullServer)).as("the first connection paid a window").isEqualTo(2L * WINDOW);
        assertThat(onLoop(smallServer)).isEqualTo(WINDOW);
        assertThat(kept.isActive()).as("the stream of the connection holding the least").isTrue();

        clientParents.forEach(c -> c.close().awaitUninterruptibly(10, TimeUnit.SECONDS));
        await().atMost(WAIT).until(() -> budget.held() == 0 && budget.sessionCount() == 0);
    }

    private YamuxSession connect(Channel listener) throws InterruptedException {
        YamuxSession client = new YamuxSession(YamuxRole.CLIENT, YamuxConfig.fixedWindow(WINDOW)
                .withKeepAliveInterval(Duration.ZERO), new ChannelInboundHandlerAdapter());
        clientParents.add(new Bootstrap().group(clientLoops).channel(Transport.socketChannel()).handler(client)
                .connect(listener.localAddress()).sync().channel());
        return client;
    }

    /** A stream of {@code client} that writes one whole window, all the server's reader may be sent. */
    private static YamuxStreamChannel sendWindow(YamuxSession client) throws Exception {
        YamuxStreamChannel stream = client.openStream(new ChannelInboundHandlerAdapter()).get(10, TimeUnit.SECONDS);
        stream.writeAndFlush(Unpooled.wrappedBuffer(new byte[WINDOW]));
        return stream;
    }

    private static long onLoop(YamuxSession session) throws Exception {
        return session.parent().eventLoop().submit(session::inboundHeld).get(10, TimeUnit.SECONDS);
    }
}
