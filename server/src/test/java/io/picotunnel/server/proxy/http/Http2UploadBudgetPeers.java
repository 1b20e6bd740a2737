package io.picotunnel.server.proxy.http;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.picotunnel.protocol.net.Transport;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * Real Netty HTTP/2 peers over loopback for the upload budget's tests (NIO, on the test's own loop): a server whose
 * connections the budget watches as HttpProxy does, or the proxy itself, and visitors' connections to it.
 */
final class Http2UploadBudgetPeers {

    /** How long a visitor's open of a stream, write or close may take before the test fails saying so. */
    static final Duration SYNC_BOUND = Duration.ofSeconds(30);

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
        return bound(new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
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
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)), "a loopback listener's bind");
    }

    /** A visitor's connection to {@code server}: its streams are opened with an {@code Http2StreamChannelBootstrap}. */
    static Channel connect(EventLoopGroup group, Channel server) throws InterruptedException {
        return connect(group, server, Http2FrameCodecBuilder.forClient().build());
    }

    /** A visitor's connection to {@code server}, its codec {@code codec}. */
    static Channel connect(EventLoopGroup group, Channel server, Http2FrameCodec codec) throws InterruptedException {
        return bound(new Bootstrap().group(group).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(codec, new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
                    }
                })
                .connect(server.localAddress()), "a visitor's connect");
    }

    /**
     * A listener on a loopback port whose connections {@code proxy} serves over HTTP/2 (prior knowledge, no TLS), as it
     * does those whose ALPN chose h2; {@code group} of {@link Transport}'s kind.
     */
    static Channel startProxy(EventLoopGroup group, HttpProxy proxy) throws InterruptedException {
        return startProxy(group, proxy, connection -> {
        });
    }

    /** As above, each connection given to {@code connections} once the proxy's handlers are on it. */
    static Channel startProxy(EventLoopGroup group, HttpProxy proxy, Consumer<Channel> connections)
            throws InterruptedException {
        return bound(new ServerBootstrap().group(group).channel(Transport.serverSocketChannel())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        proxy.initHttp2(ch.pipeline());
                        connections.accept(ch);
                    }
                })
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)), "a loopback listener's bind");
    }

    /** A stream of {@code visitor} with {@code handler}, a POST's head sent on it: its body follows. */
    static Http2StreamChannel upload(Channel visitor, ChannelHandler handler) throws InterruptedException {
        return upload(visitor, handler, postHead());
    }

    /** As above, the head {@code head}. */
    static Http2StreamChannel upload(Channel visitor, ChannelHandler handler, Http2Headers head)
            throws InterruptedException {
        return open(visitor, handler, head, false);
    }

    /** A stream of {@code visitor} with {@code handler}, {@code head} sent on it as the whole request (no body). */
    static Http2StreamChannel request(Channel visitor, ChannelHandler handler, Http2Headers head)
            throws InterruptedException {
        return open(visitor, handler, head, true);
    }

    private static Http2StreamChannel open(Channel visitor, ChannelHandler handler, Http2Headers head, boolean end)
            throws InterruptedException {
        Http2StreamChannel stream = synced(new Http2StreamChannelBootstrap(visitor).handler(handler).open(),
                "the open of a visitor's stream");
        synced(stream.writeAndFlush(new DefaultHttp2HeadersFrame(head, end)), "the write of a request's head");
        return stream;
    }

    /**
     * Waits for {@code future} as its sync() would, {@link #SYNC_BOUND} at most: fails saying {@code what} did not end
     * then (a DATA frame the server's flow control holds back, a stuck loop) rather than wait for ever, or with its
     * failure; else gives its result. An interrupt (JUnit's timeout) ends the wait.
     */
    static <V> V synced(Future<V> future, String what) throws InterruptedException {
        if (!future.await(SYNC_BOUND.toMillis())) {
            throw new AssertionError(what + " did not end within " + SYNC_BOUND);
        }
        if (!future.isSuccess()) {
            throw new AssertionError(what + " failed", future.cause());
        }
        return future.getNow();
    }

    /** The channel of {@code future} once it ended well, as {@link #synced} waits for it. */
    private static Channel bound(ChannelFuture future, String what) throws InterruptedException {
        synced(future, what);
        return future.channel();
    }

    /** The head of a POST to {@code https://uploads.test/upload}. */
    static Http2Headers postHead() {
        return new DefaultHttp2Headers().method("POST").scheme("https").authority("uploads.test").path("/upload");
    }

    /** Sends {@code bytes} zero bytes on {@code upload} in one DATA frame, the last when {@code end}. */
    static void send(Http2StreamChannel upload, int bytes, boolean end) throws InterruptedException {
        synced(upload.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.wrappedBuffer(new byte[bytes]), end)),
                "the write of a DATA frame of " + bytes + " bytes");
    }

    /** What a visitor's stream was answered: its status, head, body, end and reset, as they come. */
    static final class Answer extends ChannelInboundHandlerAdapter {
        final CompletableFuture<String> status = new CompletableFuture<>();
        /** The response's head, past any 1xx. */
        final CompletableFuture<Http2Headers> head = new CompletableFuture<>();
        final CompletableFuture<String> body = new CompletableFuture<>();
        final CompletableFuture<Long> reset = new CompletableFuture<>();
        private final StringBuilder bodySoFar = new StringBuilder();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof Http2HeadersFrame head && !head.headers().status().toString().startsWith("1")) {
                    status.complete(head.headers().status().toString());
                    this.head.complete(head.headers());
                    endIf(head.isEndStream());
                } else if (msg instanceof Http2DataFrame data) {
                    bodySoFar.append(data.content().toString(StandardCharsets.UTF_8));
                    endIf(data.isEndStream());
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        private void endIf(boolean endOfStream) {
            if (endOfStream) {
                body.complete(bodySoFar.toString());
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            if (event instanceof Http2ResetFrame frame) {
                reset.complete(frame.errorCode());
            }
            ReferenceCountUtil.release(event);
        }
    }
}
