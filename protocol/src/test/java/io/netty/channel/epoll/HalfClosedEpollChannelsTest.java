package io.netty.channel.epoll;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** {@link HalfClosedEpollChannels} on a channel whose event loop has stopped. */
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
}
