package io.picotunnel.server.proxy.http;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Queue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Of two connections holding exactly as much of the upload budget, the newer has its stream reset when the budget is
 * passed, whichever of the two sent the frame that passed it: an upload that was there first is not the one to go.
 * Real Netty HTTP/2 peers over loopback, the server's side watched by the budget as HttpProxy does, its streams
 * reading nothing past the head, so what each connection holds is exactly the DATA it was sent.
 */
class Http2UploadBudgetTieTest {

    private static final int DATA_BYTES = 1000;
    private static final int HELD_EACH = DATA_BYTES + Http2UploadBudget.FRAME_COST;

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    /** One byte less than both connections' frames: the second frame to arrive passes it, at a tie. */
    private final Http2UploadBudget budget = new Http2UploadBudget(2L * HELD_EACH - 1);
    private final BlockingQueue<Http2StreamChannel> serverStreams = new LinkedBlockingQueue<>();
    private Channel server;

    enum LastToSend { OLDER, NEWER }

    @AfterEach
    void stop() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @ParameterizedTest(name = "the {0} connection's frame passes the budget")
    @EnumSource(LastToSend.class)
    void ofConnectionsHoldingAsMuchTheNewerHasItsStreamReset(LastToSend last) throws Exception {
        server = Http2UploadBudgetPeers.startServer(group, budget, stream -> {
            // reads the head only: its DATA waits, held
            stream.pipeline().addLast(budget.watchStream(stream), new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    if (msg instanceof HttpRequest) {
                        serverStreams.add(stream);
                    }
                    ReferenceCountUtil.release(msg);
                }
            });
            stream.eventLoop().execute(stream::read);
        });
        Upload older = startUpload();
        Upload newer = startUpload(); // the server watched the older one's connection before this one connected
        Upload first = last == LastToSend.OLDER ? newer : older;
        Upload second = last == LastToSend.OLDER ? older : newer;

        first.send(DATA_BYTES);
        await().atMost(5, TimeUnit.SECONDS).alias("the first frame held").until(() -> budget.held() == HELD_EACH);
        second.send(DATA_BYTES);

        await().atMost(5, TimeUnit.SECONDS).alias("a stream reset")
                .until(() -> !older.resets.isEmpty() || !newer.resets.isEmpty());
        await().atMost(5, TimeUnit.SECONDS).alias("what the reset stream held freed")
                .until(() -> budget.held() == HELD_EACH);
        assertThat(older.resets).as("resets of the older connection's stream").isEmpty();
        assertThat(newer.resets).as("resets of the newer connection's stream").singleElement()
                .extracting(Http2ResetFrame::errorCode).isEqualTo(Http2Error.ENHANCE_YOUR_CALM.code());
        assertThat(older.stream.isActive()).as("the older connection's stream still open").isTrue();
        assertThat(older.serverStream.isActive()).as("the server's side of the older's stream").isTrue();
    }

    /** A connection of its own with one upload stream open, its head read by the server's stream. */
    private Upload startUpload() throws Exception {
        Channel visitor = Http2UploadBudgetPeers.connect(group, server);
        Queue<Http2ResetFrame> resets = new ConcurrentLinkedQueue<>();
        Http2StreamChannel stream = Http2UploadBudgetPeers.upload(visitor, new ChannelInboundHandlerAdapter() {
            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
                if (event instanceof Http2ResetFrame reset) {
                    resets.add(reset);
                }
                ReferenceCountUtil.release(event);
            }
        });
        Http2StreamChannel serverStream = serverStreams.poll(5, TimeUnit.SECONDS);
        assertThat(serverStream).as("the server's stream of the upload, its head read").isNotNull();
        return new Upload(stream, serverStream, resets);
    }

    private record Upload(Http2StreamChannel stream, Http2StreamChannel serverStream,
                          Queue<Http2ResetFrame> resets) {
        void send(int bytes) throws InterruptedException {
            Http2UploadBudgetPeers.send(stream, bytes, false);
        }
    }
}
