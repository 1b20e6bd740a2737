package io.picotunnel.protocol.relay;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link Relay#start} with its two channels on two event loops, as the client (stream and target) and the server
 * (visitor and stream) use it: the channel of the other loop may change state while the relay is being set up.
 */
class RelayStartTest {

    private final EventLoopGroup visitorLoop = Transport.newEventLoopGroup(1, "visitor-side");
    private final EventLoopGroup targetLoop = Transport.newEventLoopGroup(1, "target-side");
    private Channel listener;

    @AfterEach
    void tearDown() {
        if (listener != null) {
            listener.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
        visitorLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
        targetLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }

    @Test
    void aTargetThatClosedJustBeforeTheRelaysHandlerReachedItsPipelineResetsTheVisitor() throws Exception {
        // The target's connection closes on its loop; the teardown of its pipeline is a task queued by that close.
        // Relay.start from the visitor's loop comes in between: a handler added to the target's pipeline from
        // there waited for a task queued after that teardown, which removed it unseen, and the visitor hung.
        CompletableFuture<Channel> accepted = new CompletableFuture<>();
        listener = new ServerBootstrap().group(visitorLoop).channel(Transport.serverSocketChannel())
                .childOption(ChannelOption.AUTO_READ, false)
                .childHandler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void handlerAdded(io.netty.channel.ChannelHandlerContext ctx) {
                        accepted.complete(ctx.channel());
                    }
                })
                .bind(InetAddress.getLoopbackAddress(), 0).sync().channel();
        try (ServerSocket targetServer = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
             Socket visitor = new Socket()) {
            visitor.connect(listener.localAddress(), 5000);
            visitor.setSoTimeout(10_000);
            Channel visitorChannel = accepted.get(10, TimeUnit.SECONDS);
            Channel target = new Bootstrap().group(targetLoop).channel(Transport.socketChannel())
                    .option(ChannelOption.AUTO_READ, false)
                    .handler(new ChannelInboundHandlerAdapter())
                    .connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), targetServer.getLocalPort()))
                    .sync().channel();
            try (Socket targetSide = targetServer.accept()) {
                CountDownLatch closed = new CountDownLatch(1);
                CountDownLatch relayStarted = new CountDownLatch(1);
                target.eventLoop().execute(() -> {
                    target.close();
                    closed.countDown();
                    await(relayStarted);
                });
                assertThat(closed.await(10, TimeUnit.SECONDS)).isTrue();

                visitorChannel.eventLoop().submit(() -> Relay.start(visitorChannel, target)).sync();
                relayStarted.countDown();

                InputStream in = visitor.getInputStream();
                assertThatThrownBy(in::read).as("the visitor sees its connection reset, not a hang or a clean end")
                        .isInstanceOf(SocketException.class).hasMessageContaining("reset");
                assertThat(targetSide.getInputStream().read()).as("the target's connection was closed").isEqualTo(-1);
            }
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
