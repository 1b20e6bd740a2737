package io.picotunnel.server.net;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A visitor on a loopback connection that reads only when its test does, with small socket buffers both ways: an
 * answer far larger than them waits in the server channel's outbound buffer until the visitor takes it.
 *
 * @param answering the server's side of the connection
 */
record LoopbackVisitor(Channel listener, Socket socket, Channel answering) implements AutoCloseable {

    private static final int SOCKET_BUFFER = 16 * 1024;

    /** Connects a visitor to a new listener on {@code group}; {@code onActive} gets the server's side once active. */
    static LoopbackVisitor connect(EventLoopGroup group, Consumer<Channel> onActive) throws Exception {
        CompletableFuture<Channel> accepted = new CompletableFuture<>();
        Channel listener = new ServerBootstrap()
                .group(group)
                .channel(Transport.serverSocketChannel())
                .childOption(ChannelOption.SO_SNDBUF, SOCKET_BUFFER)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelActive(ChannelHandlerContext ctx) {
                                accepted.complete(ctx.channel());
                                onActive.accept(ctx.channel());
                            }
                        });
                    }
                })
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
        Socket socket = new Socket();
        try {
            socket.setReceiveBufferSize(SOCKET_BUFFER);
            socket.connect(listener.localAddress());
            socket.setSoTimeout(30_000);
            return new LoopbackVisitor(listener, socket, accepted.get(10, TimeUnit.SECONDS));
        } catch (Exception e) {
            socket.close();
            listener.close().sync();
            throw e;
        }
    }

    InputStream in() throws IOException {
        return socket.getInputStream();
    }

    @Override
    public void close() throws IOException {
        socket.close();
        listener.close().syncUninterruptibly();
    }
}
