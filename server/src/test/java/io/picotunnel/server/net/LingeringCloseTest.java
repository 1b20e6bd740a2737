package io.picotunnel.server.net;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The lingering close after a last answer, over real sockets. */
class LingeringCloseTest {

    /** Far more than the socket buffers on the way hold while the visitor does not read. */
    private static final int ANSWER = 8 * 1024 * 1024;
    private static final LingeringClose.Bounds SHORT = new LingeringClose.Bounds(Duration.ofMillis(200),
            Duration.ofMillis(500), 1024 * 1024);

    private final EventLoopGroup group = Transport.newEventLoopGroup(1, "lingering-close-test");
    private Channel listener;

    @AfterEach
    void stop() throws Exception {
        if (listener != null) {
            listener.close().sync();
        }
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).sync();
    }

    @Test
    void aLongLastAnswerThatTheVisitorTakesInSlowlyIsNotCutByTheLingerBounds() throws Exception {
        CompletableFuture<Channel> accepted = new CompletableFuture<>();
        listener = new ServerBootstrap()
                .group(group)
                .channel(Transport.serverSocketChannel())
                .childOption(ChannelOption.SO_SNDBUF, 16 * 1024)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelActive(ChannelHandlerContext ctx) {
                                accepted.complete(ctx.channel());
                                LingeringClose.after(ctx.writeAndFlush(Unpooled.wrappedBuffer(new byte[ANSWER])), SHORT);
                            }
                        });
                    }
                })
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();

        try (Socket visitor = new Socket()) {
            visitor.setReceiveBufferSize(16 * 1024);
            visitor.connect(listener.localAddress());
            visitor.setSoTimeout(30_000);
            Channel answering = accepted.get(10, TimeUnit.SECONDS);

            // The visitor reads nothing for several times the bounds: the answer is still being written.
            await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(10)).until(answering::isActive);

            InputStream in = visitor.getInputStream();
            byte[] buffer = new byte[64 * 1024];
            long read = 0;
            int n;
            while ((n = in.read(buffer)) >= 0) {
                read += n;
            }
            assertThat(read).as("bytes of the answer read before its end").isEqualTo(ANSWER);
        }
    }
}
