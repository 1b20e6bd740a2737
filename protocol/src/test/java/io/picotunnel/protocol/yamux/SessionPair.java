package io.picotunnel.protocol.yamux;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** A CLIENT and a SERVER {@link YamuxSession} talking over a real loopback TCP connection. */
final class SessionPair implements AutoCloseable {

    final EventLoopGroup group;
    final Channel listener;
    final Channel clientParent;
    final YamuxSession client;
    final YamuxSession server;

    SessionPair(YamuxConfig config, ChannelHandler serverInbound, ChannelHandler clientInbound) throws Exception {
        group = Transport.newEventLoopGroup(2, "yamux-test");
        try {
            CompletableFuture<YamuxSession> serverSession = new CompletableFuture<>();
            listener = new ServerBootstrap().group(group).channel(Transport.serverSocketChannel())
                    .childHandler(new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            YamuxSession s = new YamuxSession(YamuxRole.SERVER, config, serverInbound);
                            ch.pipeline().addLast(s);
                            serverSession.complete(s);
                        }
                    })
                    .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
            client = new YamuxSession(YamuxRole.CLIENT, config, clientInbound);
            clientParent = new Bootstrap().group(group).channel(Transport.socketChannel()).handler(client)
                    .connect(listener.localAddress()).sync().channel();
            server = serverSession.get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
            throw e;
        }
    }

    @Override
    public void close() {
        clientParent.close().awaitUninterruptibly(10, TimeUnit.SECONDS);
        listener.close().awaitUninterruptibly(10, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }
}
