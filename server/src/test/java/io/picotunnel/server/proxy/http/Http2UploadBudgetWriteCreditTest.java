package io.picotunnel.server.proxy.http;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Promise;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A piece handed on into the tunnel ({@link Http2UploadBudget#passedOnOnceWritten}) stays counted, its credit withheld,
 * until its write completes on the tunnel's event loop, successfully or not; its credit then goes back once, however
 * often it is passed on after (a drop of it as well). Real Netty HTTP/2 peers over loopback, a promise of another event
 * loop standing for the tunnel stream's write.
 */
class Http2UploadBudgetWriteCreditTest {

    private static final int FRAME = 16_384;
    private static final int FRAMES = 2;
    private static final int WINDOW = 65_535;

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final EventLoop tunnelLoop = new DefaultEventLoop();
    private final Http2UploadBudget budget = new Http2UploadBudget(1024 * 1024);
    private final Queue<HttpContent> pieces = new ConcurrentLinkedQueue<>();

    @AfterEach
    void stop() {
        pieces.forEach(ReferenceCountUtil::release);
        tunnelLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Test
    void creditComesBackOnceWhenTheWriteIntoTheTunnelCompletesNotBefore() throws Exception {
        Channel server = Http2UploadBudgetPeers.startServer(group, budget, connection -> {
        }, stream -> stream.pipeline().addLast(
                budget.watchStream(stream), new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        if (msg instanceof HttpContent piece) {
                            pieces.add(piece);
                        } else {
                            ReferenceCountUtil.release(msg);
                        }
                    }
                }));
        Http2FrameCodec visitorCodec = Http2FrameCodecBuilder.forClient().build();
        Channel visitor = Http2UploadBudgetPeers.connect(group, server, visitorCodec);
        Http2StreamChannel upload = Http2UploadBudgetPeers.upload(visitor, new ChannelInboundHandlerAdapter());
        for (int frame = 0; frame < FRAMES; frame++) {
            Http2UploadBudgetPeers.send(upload, FRAME, false);
        }
        await().atMost(10, TimeUnit.SECONDS).alias("both pieces read and held")
                .until(() -> pieces.stream().mapToLong(piece -> piece.content().readableBytes()).sum()
                        == FRAMES * FRAME);
        long held = budget.held();
        List<HttpContent> handedOn = new ArrayList<>(pieces);
        pieces.clear();

        List<Promise<Void>> writes = upload.eventLoop().submit(() -> {
            List<Promise<Void>> promises = new ArrayList<>();
            for (HttpContent piece : handedOn) {
                Promise<Void> write = tunnelLoop.newPromise();
                Http2UploadBudget.passedOnOnceWritten(piece, write);
                promises.add(write);
            }
            return promises;
        }).get(5, TimeUnit.SECONDS);
        assertThat(budget.held()).as("held while the writes into the tunnel are under way").isEqualTo(held);
        assertThat(window(visitorCodec, upload)).as("the visitor's window, while they are")
                .isEqualTo(WINDOW - FRAMES * FRAME);

        tunnelLoop.execute(() -> {
            writes.get(0).setSuccess(null);
            writes.get(1).setFailure(new IOException("the tunnel stream was reset"));
        });
        await().atMost(10, TimeUnit.SECONDS).alias("the credit of both pieces back at the visitor, sent or failed")
                .until(() -> window(visitorCodec, upload) == WINDOW);
        assertThat(budget.held()).as("held once written").isZero();

        // Dropped as well, as the proxy may drop what it handed on: nothing more leaves, no credit comes back again
        upload.eventLoop().submit(() -> handedOn.forEach(piece -> {
            Http2UploadBudget.passedOn(piece);
            piece.release();
        })).get(5, TimeUnit.SECONDS);
        Http2UploadBudgetPeers.send(upload, 1, false);
        await().atMost(10, TimeUnit.SECONDS).alias("a last piece read").until(() -> !pieces.isEmpty());
        assertThat(budget.held()).as("held: the last piece only").isEqualTo(1 + Http2UploadBudget.FRAME_COST);
        assertThat(window(visitorCodec, upload)).as("the visitor's window, no credit given twice")
                .isEqualTo(WINDOW - 1);
    }

    private static int window(Http2FrameCodec codec, Http2StreamChannel upload) throws Exception {
        Http2Connection connection = codec.connection();
        return upload.eventLoop().submit(() -> connection.remote().flowController()
                .windowSize(connection.stream(upload.stream().id()))).get(5, TimeUnit.SECONDS);
    }
}
