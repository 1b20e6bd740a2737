package io.picotunnel.server.proxy.http;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Credit given back for pieces of uploads passed on in one turn of the connection's event loop (as the writes of
 * several pieces into the tunnel complete together) goes out in one flush, its WINDOW_UPDATEs together, not in a
 * flush, a TLS record and a system call, each; and none of it is lost. Real Netty HTTP/2 peers over loopback, the
 * server's side watched by the budget as HttpProxy does, its streams keeping the pieces they read until the test passes
 * them on.
 */
class Http2UploadBudgetCreditFlushTest {

    private static final int STREAMS = 8;
    /** Two frames of a stream take half its window (65535): Netty sends its WINDOW_UPDATE once they are given back. */
    private static final int FRAME = 16_384;
    private static final int FRAMES_EACH = 2;
    private static final int WINDOW = 65_535;
    private static final long SENT = (long) STREAMS * FRAMES_EACH * FRAME;

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Http2UploadBudget budget = new Http2UploadBudget(1024 * 1024);
    private final Queue<HttpContent> pieces = new ConcurrentLinkedQueue<>();
    private final FlushesWithWrites flushes = new FlushesWithWrites();
    private final CompletableFuture<Channel> serverConnection = new CompletableFuture<>();

    @AfterEach
    void stop() {
        pieces.forEach(ReferenceCountUtil::release);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Test
    void creditForPiecesOfManyStreamsPassedOnInOneTurnGoesOutInOneFlush() throws Exception {
        Channel server = Http2UploadBudgetPeers.startServer(group, budget, connection -> {
            connection.pipeline().addFirst(flushes);
            serverConnection.complete(connection);
        }, stream -> stream.pipeline().addLast(budget.watchStream(stream), new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof HttpContent piece) {
                    pieces.add(piece); // held, its credit too, until passed on
                } else {
                    ReferenceCountUtil.release(msg);
                }
            }
        }));
        Http2FrameCodec visitorCodec = Http2FrameCodecBuilder.forClient().build();
        Channel visitor = Http2UploadBudgetPeers.connect(group, server, visitorCodec);
        List<Http2StreamChannel> uploads = new ArrayList<>();
        for (int i = 0; i < STREAMS; i++) {
            Http2StreamChannel upload = Http2UploadBudgetPeers.upload(visitor, new ChannelInboundHandlerAdapter());
            uploads.add(upload);
            for (int frame = 0; frame < FRAMES_EACH; frame++) {
                Http2UploadBudgetPeers.send(upload, FRAME, false);
            }
        }
        // The visitor may split a frame where the connection's window ended: the bytes tell when all came
        await().atMost(10, TimeUnit.SECONDS).alias("all the pieces read and held")
                .until(() -> pieces.stream().mapToLong(piece -> piece.content().readableBytes()).sum() == SENT);
        assertThat(budget.held()).isEqualTo(SENT + (long) pieces.size() * Http2UploadBudget.FRAME_COST);
        assertThat(windows(visitorCodec, uploads)).as("the visitor's stream windows, taken")
                .containsOnly(WINDOW - FRAMES_EACH * FRAME);

        Channel connection = serverConnection.get(5, TimeUnit.SECONDS);
        int before = connection.eventLoop().submit(() -> {
            int flushed = flushes.count.get();
            HttpContent piece;
            while ((piece = pieces.poll()) != null) {
                Http2UploadBudget.passedOn(piece);
                piece.release();
            }
            return flushed;
        }).get(5, TimeUnit.SECONDS);

        await().atMost(10, TimeUnit.SECONDS).alias("the credit of every piece back at the visitor")
                .until(() -> windows(visitorCodec, uploads).stream().allMatch(window -> window == WINDOW));
        assertThat(flushes.count.get() - before).as("flushes of the server's connection that sent something, for the"
                + " WINDOW_UPDATEs of %d streams given back in one turn", STREAMS).isEqualTo(1);
        assertThat(budget.held()).as("held, all passed on").isZero();
    }

    /** The windows the server gave {@code uploads}: what each may still send. */
    private static List<Integer> windows(Http2FrameCodec codec, List<Http2StreamChannel> uploads) throws Exception {
        Http2Connection connection = codec.connection();
        return uploads.getFirst().eventLoop().submit(() -> uploads.stream()
                .map(upload -> connection.remote().flowController().windowSize(connection.stream(upload.stream().id())))
                .toList()).get(5, TimeUnit.SECONDS);
    }

    /** First in a connection's pipeline: counts the flushes that had something written before them to send. */
    private static final class FlushesWithWrites extends ChannelOutboundHandlerAdapter {
        final AtomicInteger count = new AtomicInteger();
        private boolean written;

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            written = true;
            ctx.write(msg, promise);
        }

        @Override
        public void flush(ChannelHandlerContext ctx) {
            if (written) {
                written = false;
                count.incrementAndGet();
            }
            ctx.flush();
        }
    }
}
