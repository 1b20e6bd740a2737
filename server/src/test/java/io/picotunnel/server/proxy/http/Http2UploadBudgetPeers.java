package io.picotunnel.server.proxy.http;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.function.Consumer;

/**
 * Real Netty HTTP/2 peers over loopback for the upload budget's tests (NIO, on the test's own loop): a server whose
 * connections the budget watches as HttpProxy does, and visitors' connections to it.
 */
final class Http2UploadBudgetPeers {

    private Http2UploadBudgetPeers() {
    }

    /**
     * A server on a loopback port whose connections {@code budget} watches; each stream's channel reads nothing on its
     * own (auto-read off, so what it is sent waits, held) and goes to {@code streams} to be set up.
     */
    static Channel startServer(EventLoopGroup group, Http2UploadBudget budget, Consumer<Http2StreamChannel> streams)
            throws InterruptedException {
        return startServer(group, budget, connection -> {
        }, stream -> {
            stream.config().setAutoRead(false);
            streams.accept(stream);
        });
    }

    /**
     * A server on a loopback port whose connections {@code budget} watches; each connection goes to
     * {@code connections} as its codec is added, each stream's channel to {@code streams} to be set up.
     */
    static Channel startServer(EventLoopGroup group, Http2UploadBudget budget, Consumer<Channel> connections,
                               Consumer<Http2StreamChannel> streams) throws InterruptedException {
        return new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        Http2FrameCodec codec = Http2FrameCodecBuilder.forServer().build();
                        ch.pipeline().addLast(codec);
                        connections.accept(ch);
                        budget.watchConnection(ch, codec);
                        ch.pipeline().addLast(new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
                            @Override
                            protected void initChannel(Http2StreamChannel stream) {
                                streams.accept(stream);
                            }
                        }));
                    }
                })
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
    }

    /** A visitor's connection to {@code server}: its streams are opened with an {@code Http2StreamChannelBootstrap}. */
    static Channel connect(EventLoopGroup group, Channel server) throws InterruptedException {
        return connect(group, server, Http2FrameCodecBuilder.forClient().build());
    }

    /** A visitor's connection to {@code server}, its codec {@code codec}. */
    static Channel connect(EventLoopGroup group, Channel server, Http2FrameCodec codec) throws InterruptedException {
        return new Bootstrap().group(group).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(codec, new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
                    }
                })
                .connect(server.localAddress()).sync().channel();
    }

    /** A stream of {@code visitor} with {@code handler}, a POST's head sent on it: its body follows. */
    static Http2StreamChannel upload(Channel visitor, ChannelHandler handler) throws InterruptedException {
        Http2StreamChannel stream = new Http2StreamChannelBootstrap(visitor).handler(handler).open().sync().getNow();
        stream.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().method("POST").scheme("https")
                .authority("uploads.test").path("/upload"), false)).sync();
        return stream;
    }
}
