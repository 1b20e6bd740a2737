package io.picotunnel.server.tunnel;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Visitors served on a loop of their own, apart from the loops of the tunnel's sessions: a visitor's stream opens on
 * the chosen session's loop, so it waits behind whatever task that loop runs first.
 */
final class VisitorLoop {

    private VisitorLoop() {
    }

    /** Listens on a loopback port, served by {@code loop}, handing each visitor's context to {@code onVisitor}. */
    static int listen(EventLoopGroup loop, Consumer<ChannelHandlerContext> onVisitor) throws InterruptedException {
        ChannelInboundHandlerAdapter handler = new ChannelInboundHandlerAdapter() {
            @Override
            public void channelActive(ChannelHandlerContext ctx) {
                onVisitor.accept(ctx);
            }

            @Override
            public boolean isSharable() {
                return true;
            }
        };
        return ((InetSocketAddress) new ServerBootstrap().group(loop).channel(Transport.serverSocketChannel())
                .childHandler(handler)
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel().localAddress())
                .getPort();
    }

    /** A visitor's moves, run while the chosen session's loop is held. */
    interface Visit {
        void run() throws Exception;
    }

    /**
     * Holds {@code chosen}'s loop, runs {@code visit}, and once the registry asked {@code chosen} for the visitor's
     * stream runs {@code onTheChosenLoop} on that loop, before the stream's open gets there.
     */
    static void onceChosen(TunnelRegistry.Connection chosen, Visit visit, Runnable onTheChosenLoop) throws Exception {
        assertThat(chosen.load()).as("no stream yet on the chosen client").isZero();
        CountDownLatch asked = new CountDownLatch(1);
        chosen.session().parent().eventLoop().execute(() -> {
            try {
                asked.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            onTheChosenLoop.run();
        });
        try {
            visit.run();
            await().atMost(Duration.ofSeconds(10)).until(() -> chosen.load() == 1);
        } finally {
            asked.countDown();
        }
    }
}
