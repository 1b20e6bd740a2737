package io.picotunnel.server.proxy.http;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A stream whose channel reads nothing more (as an exchange waiting for the tunnel does) and holds no DATA, only the
 * visitor's trailers: its channel still closes when the visitor resets the stream. Real Netty HTTP/2 peers over
 * loopback, the server's side watched by the budget as HttpProxy does.
 */
class Http2UploadBudgetStreamCloseTest {

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Http2UploadBudget budget = new Http2UploadBudget(1024 * 1024);
    private final CompletableFuture<Http2StreamChannel> serverStream = new CompletableFuture<>();
    private final AtomicInteger framesRead = new AtomicInteger();
    private final AtomicBoolean exchangeEnded = new AtomicBoolean();

    @AfterEach
    void stop() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Test
    void aStreamHoldingOnlyTrailersIsClosedWhenTheVisitorResetsIt() throws Exception {
        Channel server = Http2UploadBudgetPeers.startServer(group, budget, stream -> {
            // reads nothing: all it is sent waits
            budget.watchStream(stream);
            stream.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    framesRead.incrementAndGet();
                    ReferenceCountUtil.release(msg);
                }

                @Override
                public void channelInactive(ChannelHandlerContext ctx) {
                    exchangeEnded.set(true);
                }
            });
            serverStream.complete(stream);
        });
        Channel visitor = Http2UploadBudgetPeers.connect(group, server);
        Http2StreamChannel stream = Http2UploadBudgetPeers.upload(visitor, new ChannelInboundHandlerAdapter());
        Http2StreamChannel held = serverStream.get(5, TimeUnit.SECONDS);
        held.eventLoop().execute(held::read); // the head only, as an exchange reads it before it waits for the tunnel
        await().atMost(5, TimeUnit.SECONDS).until(() -> framesRead.get() == 1);
        Http2UploadBudgetPeers.synced(stream.writeAndFlush(new DefaultHttp2HeadersFrame(
                new DefaultHttp2Headers().add("x-checksum", "1"), true)), "the write of the trailers");
        await().atMost(5, TimeUnit.SECONDS).alias("the trailers reached the server's stream")
                .until(() -> held.stream().state() == Http2Stream.State.HALF_CLOSED_REMOTE);
        assertThat(budget.held()).as("DATA bytes held: none, so only a channel open at its stream's close is closed")
                .isZero();
        assertThat(held.isOpen()).as("the server's channel while its trailers wait unread: Netty leaves it open")
                .isTrue();

        Http2UploadBudgetPeers.synced(stream.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.CANCEL)),
                "the write of the RST_STREAM");

        await().atMost(5, TimeUnit.SECONDS).alias("the server's channel of the reset stream closed")
                .until(() -> !held.isOpen());
        assertThat(exchangeEnded).as("the exchange's handler told its channel went inactive").isTrue();
        assertThat(framesRead).as("frames the server's stream read: the head, not the trailers").hasValue(1);
        Http2UploadBudgetPeers.synced(visitor.close(), "the visitor's close");
        Http2UploadBudgetPeers.synced(server.close(), "the server's close");
    }
}
