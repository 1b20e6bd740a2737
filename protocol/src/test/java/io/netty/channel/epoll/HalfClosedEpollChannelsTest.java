package io.netty.channel.epoll;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.ReaderWhenAsked;
import io.picotunnel.protocol.net.Transport;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** {@link HalfClosedEpollChannels}: a channel whose event loop has stopped; reads only when asked. */
class HalfClosedEpollChannelsTest {

    @Test
    void aChannelWhoseLoopHasStoppedIsLeftAlone() throws Exception {
        assumeTrue(Transport.isEpoll(), "the epoll transport");
        EventLoopGroup group = Transport.newEventLoopGroup(1, "half-closed-test");
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            server.setSoTimeout(5_000);
            Channel channel = new Bootstrap().group(group).channel(Transport.socketChannel())
                    .handler(new ChannelInboundHandlerAdapter())
                    .connect(new InetSocketAddress("127.0.0.1", server.getLocalPort())).sync().channel();
            try (Socket accepted = server.accept()) {
                assertThat(accepted.isConnected()).isTrue();
                // As a relay started from another loop just after the client's stop ended this channel's loop.
                assertThat(group.shutdownGracefully(0, 0, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS)).isTrue();

                assertThatCode(() -> HalfClosedEpollChannels.keepRegistered(channel)).doesNotThrowAnyException();
            }
        } finally {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
        }
    }

    /**
     * A peer that writes and then ends its output, to a socket with auto-read off that asks for nothing: the bytes and
     * the end stay in the kernel until a read is asked for. Before, Netty's EPOLLRDHUP handling read them all at the
     * peer's FIN.
     */
    @Test
    void aPeersBytesAndEndAreReadOnlyWhenAskedFor() throws Exception {
        assumeTrue(Transport.isEpoll(), "the epoll transport");
        int size = 32 * 1024;
        EventLoopGroup group = Transport.newEventLoopGroup(1, "read-when-asked-test");
        ReaderWhenAsked reader = new ReaderWhenAsked();
        CompletableFuture<Channel> accepted = new CompletableFuture<>();
        try {
            Channel listener = new ServerBootstrap().group(group).channel(Transport.serverSocketChannel())
                    .childOption(ChannelOption.AUTO_READ, false)
                    .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                    .childHandler(new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel channel) {
                            HalfClosedEpollChannels.keepRegisteredReadingOnlyWhenAsked(channel);
                            channel.pipeline().addLast(reader);
                            accepted.complete(channel);
                        }
                    })
                    .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
            try (Socket peer = new Socket(InetAddress.getByName("127.0.0.1"),
                    ((InetSocketAddress) listener.localAddress()).getPort())) {
                peer.getOutputStream().write(new byte[size]);
                peer.shutdownOutput();
                Channel channel = accepted.get(10, TimeUnit.SECONDS);

                await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                    assertThat(reader.receivedBytes()).as("bytes read unasked").isZero();
                    assertThat(reader.ended.isDone()).as("end read unasked").isFalse();
                });

                reader.draining.set(true);
                channel.read();
                await().atMost(Duration.ofSeconds(10)).until(reader.ended::isDone);
                assertThat(reader.receivedBytes()).isEqualTo(size);
            } finally {
                listener.close().sync();
            }
        } finally {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
        }
    }
}
