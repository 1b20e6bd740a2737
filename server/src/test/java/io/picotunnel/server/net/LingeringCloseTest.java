package io.picotunnel.server.net;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.relay.ResetOnDeath;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
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

    @AfterEach
    void stop() throws Exception {
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).sync();
    }

    @Test
    void aLongLastAnswerThatTheVisitorTakesInSlowlyIsNotCutByTheLingerBounds() throws Exception {
        try (LoopbackVisitor visitor = LoopbackVisitor.connect(group, channel ->
                LingeringClose.after(channel.writeAndFlush(Unpooled.wrappedBuffer(new byte[ANSWER])), SHORT))) {
            Channel answering = visitor.answering();

            // The visitor reads nothing for several times the bounds: the answer is still being written.
            await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(10)).until(answering::isActive);

            InputStream in = visitor.in();
            byte[] buffer = new byte[64 * 1024];
            long read = 0;
            int n;
            while ((n = in.read(buffer)) >= 0) {
                read += n;
            }
            assertThat(read).as("bytes of the answer read before its end").isEqualTo(ANSWER);
        }
    }

    /**
     * A death of the process once the output is shut (the FIN queued behind the answer) must end the answer with that
     * FIN: the socket's zero linger is off by the time the output is shut, not just after it, when a death in between
     * (the loop held there by a busy machine) reset the connection and dropped what the kernel still held.
     */
    @Test
    void theOutputOfAnAnswerDelimitedByTheCloseIsShutWithZeroLingerAlreadyOff() throws Exception {
        EventLoopGroup nio = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        CompletableFuture<Integer> lingerAtShutdown = new CompletableFuture<>();
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Channel answering = new Bootstrap().group(nio)
                    .channelFactory(() -> new NioSocketChannel() {
                        @Override
                        public ChannelFuture shutdownOutput(ChannelPromise promise) {
                            lingerAtShutdown.complete(config().getSoLinger());
                            return super.shutdownOutput(promise);
                        }
                    })
                    .handler(new ChannelInboundHandlerAdapter())
                    .connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), listener.getLocalPort()))
                    .sync().channel();
            try (Socket visitor = listener.accept()) {
                answering.eventLoop().submit(() -> {
                    ResetOnDeath.arm(answering); // as the proxy does for an HTTP/1.0 answer without a length
                    LingeringClose.after(answering.writeAndFlush(Unpooled.wrappedBuffer(new byte[64 * 1024])), SHORT);
                }).sync();

                assertThat(lingerAtShutdown.get(10, TimeUnit.SECONDS)).as("SO_LINGER when the output is shut")
                        .isEqualTo(-1);
                visitor.setSoTimeout(10_000);
                assertThat(visitor.getInputStream().readAllBytes()).hasSize(64 * 1024);
            }
        } finally {
            nio.shutdownGracefully(0, 0, TimeUnit.SECONDS).sync();
        }
    }
}
