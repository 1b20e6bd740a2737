package io.picotunnel.server.net;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** Accepted loopback connections land on the loop the affinity names, or spread as usual without one. */
class AffinityEventLoopGroupTest {

    private final EventLoopGroup loops = Transport.newEventLoopGroup(4, "affinity-test");
    private final Queue<Channel> accepted = new ConcurrentLinkedQueue<>();
    private final List<Socket> sockets = new ArrayList<>();
    private Channel listener;

    @AfterEach
    void stop() throws Exception {
        for (Socket socket : sockets) {
            socket.close();
        }
        if (listener != null) {
            listener.close().sync();
        }
        loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }

    private void listen(AffinityEventLoopGroup children) throws Exception {
        listener = new ServerBootstrap().group(loops, children).channel(Transport.serverSocketChannel())
                .childHandler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelActive(io.netty.channel.ChannelHandlerContext ctx) {
                        accepted.add(ctx.channel());
                        ctx.fireChannelActive();
                    }

                    @Override
                    public boolean isSharable() {
                        return true;
                    }
                })
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
    }

    private void connect(int count) throws Exception {
        int port = ((InetSocketAddress) listener.localAddress()).getPort();
        for (int i = 0; i < count; i++) {
            sockets.add(new Socket(InetAddress.getLoopbackAddress(), port));
        }
        await().atMost(10, TimeUnit.SECONDS).until(() -> accepted.size() == count);
    }

    @Test
    void everyAcceptedChannelIsRegisteredOnTheLoopTheAffinityNames() throws Exception {
        EventLoop third = pick(2);
        listen(new AffinityEventLoopGroup(loops, channel -> third));
        connect(6);
        assertThat(accepted).allSatisfy(channel -> {
            assertThat(channel.eventLoop()).isSameAs(third);
            assertThat(channel.isActive()).isTrue();
        });
    }

    @Test
    void withoutAPreferenceChannelsSpreadOverTheGroup() throws Exception {
        listen(new AffinityEventLoopGroup(loops, channel -> null));
        connect(8);
        Set<EventLoop> used = new HashSet<>();
        accepted.forEach(channel -> used.add(channel.eventLoop()));
        assertThat(used).hasSize(4);
    }

    @Test
    void theViewCannotShutTheGroupDown() {
        AffinityEventLoopGroup view = new AffinityEventLoopGroup(loops, channel -> null);
        assertThatThrownBy(() -> view.shutdownGracefully(0, 0, TimeUnit.SECONDS))
                .isInstanceOf(UnsupportedOperationException.class);
        assertThat(loops.isShuttingDown()).isFalse();
    }

    private EventLoop pick(int index) {
        AtomicReference<EventLoop> loop = new AtomicReference<>();
        int i = 0;
        for (var executor : loops) {
            if (i++ == index) {
                loop.set((EventLoop) executor);
            }
        }
        return loop.get();
    }
}
