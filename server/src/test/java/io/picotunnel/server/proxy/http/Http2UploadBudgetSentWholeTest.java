package io.picotunnel.server.proxy.http;

import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ImmediateEventExecutor;
import io.netty.util.concurrent.Promise;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.TlsMode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The budget chooses an upload to end on the event loop of the arrival that passed it and ends it on the upload's own
 * loop, behind the tasks queued there already: one of those may send the rest of the request into the tunnel. Such an
 * upload holds nothing once its end runs, and is left to go on: its target gets the whole request and answers it,
 * and what the budget counted for it leaves the budget. The proxy itself on loopback, its tunnel streams straight TCP
 * connections to a socket target ({@link DirectOpener}) opened when the test says, visitors that are real Netty HTTP/2
 * clients; the order of the tasks is the upload's loop's queue, held by a latch, and the tunnel stream's when it runs
 * on a loop of its own.
 */
class Http2UploadBudgetSentWholeTest {

    private static final int FRAME = 1000;
    private static final int FRAMES = 3;
    private static final long UPLOAD_HELD = FRAMES * (FRAME + Http2UploadBudget.FRAME_COST);
    private static final int OTHER_FRAME = 100;
    private static final long OTHER_HELD = OTHER_FRAME + Http2UploadBudget.FRAME_COST;
    /** The upload alone fits; the other stream's frame passes it. */
    private static final long BUDGET = UPLOAD_HELD + OTHER_HELD - 1;
    private static final Http2Headers UPLOAD = Http2UploadBudgetPeers.postHead();

    /** The upload's connection, its tunnel stream too in the first test: its writes into the tunnel done as flushed. */
    private final EventLoopGroup uploadLoop = Transport.newEventLoopGroup(1, "sent-whole-upload");
    /** The tunnel stream's loop in the second test, as a yamux stream runs on its session's loop, not the visitor's. */
    private final EventLoopGroup tunnelLoop = Transport.newEventLoopGroup(1, "sent-whole-tunnel");
    /** The other connection, whose frame passes the budget. */
    private final EventLoopGroup otherLoop = Transport.newEventLoopGroup(1, "sent-whole-other");
    private final EventLoopGroup visitors = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final BlockingQueue<HeldOpen> opens = new LinkedBlockingQueue<>();
    /** The proxy's side of the upload's connection (and of any other on its listener). */
    private final BlockingQueue<Channel> proxySides = new LinkedBlockingQueue<>();
    /** Let go of the loops the tests hold, whatever became of the test. */
    private final CountDownLatch release = new CountDownLatch(1);
    private final CountDownLatch releaseTunnel = new CountDownLatch(1);
    private TargetServer target;
    private HttpProxy proxy;
    /** The upload's visitor connection. */
    private Channel visitor;

    @BeforeEach
    void startTarget() throws Exception {
        target = new TargetServer("uploads");
    }

    @AfterEach
    void stop() {
        release.countDown();
        releaseTunnel.countDown();
        visitors.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        otherLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        uploadLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        tunnelLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        target.close();
    }

    @Test
    void anUploadWhoseRequestWentIntoTheTunnelWholeBeforeItsEndRanIsLeftToGoOn() throws Exception {
        startProxy(uploadLoop);
        Http2UploadBudgetPeers.Answer answer = sendWholeWhileItsEndIsQueued(false, UPLOAD);

        assertLeftToGoOn(answer);
    }

    /**
     * The tunnel stream on another loop: the open only queues the writes there, and the end runs with the last one
     * under way. Decided then, the visitor was answered 503 while the target got the whole request.
     */
    @Test
    void anUploadWhoseLastWriteIntoATunnelOnAnotherLoopIsUnderWayAsItsEndRunsIsLeftToGoOnOnceWritten()
            throws Exception {
        startProxy(tunnelLoop);
        Http2UploadBudgetPeers.Answer answer = sendWholeWhileItsEndIsQueued(true, UPLOAD);
        uploadLoop.next().submit(() -> {
        }).get(10, TimeUnit.SECONDS); // the open, which queued the writes on the held tunnel loop, and the end ran
        assertThat(answer.status).as("the upload's answer while its writes wait").isNotDone();
        releaseTunnel.countDown();

        assertLeftToGoOn(answer);
    }

    /**
     * Left to go on, an upload gets the credit of its pieces back as it would have, its connection's with its stream's,
     * while its stream stays open for the answer. Given back only as the stream closed, a long answer kept the visitor's
     * connection window that much smaller meanwhile.
     */
    @Test
    void anUploadLeftToGoOnGetsTheCreditOfItsPiecesBackWhileItsAnswerIsAwaited() throws Exception {
        startProxy(tunnelLoop);
        Http2UploadBudgetPeers.Answer answer = sendWholeWhileItsEndIsQueued(true,
                Http2UploadBudgetPeers.postHead().path("/hang"));
        releaseTunnel.countDown();

        await().atMost(10, TimeUnit.SECONDS).alias("what the upload was counted for out of the budget")
                .until(() -> held() == OTHER_HELD);
        Channel proxySide = proxySides.poll(10, TimeUnit.SECONDS);
        assertThat(proxySide).as("the proxy's side of the upload's connection").isNotNull();
        await().atMost(10, TimeUnit.SECONDS).alias("the upload's bytes given back to the connection's window")
                .until(() -> connectionBytesNotGivenBack(proxySide) == 0);
        assertThat(answer.status).as("the answer, which the target holds").isNotDone();
    }

    private void startProxy(EventLoopGroup tunnelStreams) {
        HttpRoutes routes = new HttpRoutes();
        routes.onServiceChange(null, new Service("s1", "t1", ServiceType.HTTP, "uploads.test", "/", TlsMode.TERMINATE,
                null, target.address(), true, Instant.now()));
        DirectOpener direct = new DirectOpener(tunnelStreams);
        proxy = HttpProxy.builder().routes(routes).http2UploadBudget(BUDGET).opener((service, handler) -> {
            HeldOpen open = new HeldOpen(direct.open(service, handler));
            opens.add(open);
            return open.opened;
        }).build();
    }

    /**
     * Sends the whole upload, held while its tunnel stream opens, then holds the upload's loop, opens the stream (its
     * task queued there) and has another connection's frame pass the budget, which queues the upload's end behind the
     * open; then releases the loop, the tunnel's held first when {@code holdTheTunnel}.
     */
    private Http2UploadBudgetPeers.Answer sendWholeWhileItsEndIsQueued(boolean holdTheTunnel, Http2Headers head)
            throws Exception {
        Channel uploads = Http2UploadBudgetPeers.startProxy(uploadLoop, proxy, proxySides::add);
        Channel others = Http2UploadBudgetPeers.startProxy(otherLoop, proxy);

        // The whole upload waits in the proxy while its tunnel stream opens, counted
        Http2UploadBudgetPeers.Answer answer = new Http2UploadBudgetPeers.Answer();
        visitor = Http2UploadBudgetPeers.connect(visitors, uploads);
        Http2StreamChannel upload = Http2UploadBudgetPeers.upload(visitor, answer, head);
        for (int frame = 1; frame <= FRAMES; frame++) {
            Http2UploadBudgetPeers.send(upload, FRAME, frame == FRAMES);
        }
        await().atMost(10, TimeUnit.SECONDS).alias("the upload held whole").until(() -> held() == UPLOAD_HELD);
        HeldOpen uploadOpen = opens.poll(10, TimeUnit.SECONDS);
        assertThat(uploadOpen).as("the upload's tunnel stream asked for").isNotNull();
        uploadOpen.connected.await(10, TimeUnit.SECONDS);
        assertThat(uploadOpen.connected.isSuccess()).as("its connection to the target").isTrue();

        // Its loop held: the stream's open is queued there, which sends the whole request into the tunnel
        hold(uploadLoop.next(), release);
        uploadOpen.open();

        // Another connection's frame passes the budget: the upload, its connection holding the most, is chosen, and
        // its end queued behind the open
        Http2StreamChannel other = Http2UploadBudgetPeers.upload(Http2UploadBudgetPeers.connect(visitors, others),
                new Http2UploadBudgetPeers.Answer());
        Http2UploadBudgetPeers.send(other, OTHER_FRAME, false);
        await().atMost(10, TimeUnit.SECONDS).alias("the other frame counted").until(() -> held() == UPLOAD_HELD + OTHER_HELD);
        otherLoop.next().submit(() -> {
        }).get(10, TimeUnit.SECONDS); // the read that counted it, and chose, is over
        if (holdTheTunnel) {
            hold(tunnelLoop.next(), releaseTunnel);
        }
        release.countDown();
        return answer;
    }

    /**
     * The upload answered by its target, what it was counted for out of the budget, never reset: neither right after
     * the body nor later, when another request on the same connection was answered behind it.
     */
    private void assertLeftToGoOn(Http2UploadBudgetPeers.Answer answer) throws Exception {
        assertThat(answer.status.get(10, TimeUnit.SECONDS)).as("the upload's answer").isEqualTo("200");
        assertThat(answer.body.get(10, TimeUnit.SECONDS)).as("what the target read")
                .startsWith("bytes=" + FRAMES * FRAME + " ");
        await().atMost(10, TimeUnit.SECONDS).alias("what the upload was counted for out of the budget")
                .until(() -> held() == OTHER_HELD);
        assertThat(answer.reset).as("a reset of the upload's stream").isNotDone();

        Http2UploadBudgetPeers.Answer next = new Http2UploadBudgetPeers.Answer();
        Http2UploadBudgetPeers.send(Http2UploadBudgetPeers.upload(visitor, next), 1, true);
        HeldOpen nextOpen = opens.poll(10, TimeUnit.SECONDS);
        assertThat(nextOpen).as("the next upload's tunnel stream asked for").isNotNull();
        nextOpen.connected.await(10, TimeUnit.SECONDS);
        nextOpen.open();
        assertThat(next.status.get(10, TimeUnit.SECONDS)).as("the next upload's answer").isEqualTo("200");
        assertThat(answer.reset).as("a reset of the upload's stream, later").isNotDone();
    }

    private static void hold(EventLoop loop, CountDownLatch release) throws InterruptedException {
        CountDownLatch holding = new CountDownLatch(1);
        loop.execute(() -> {
            holding.countDown();
            awaitQuietly(release);
        });
        assertThat(holding.await(10, TimeUnit.SECONDS)).as("the loop held").isTrue();
    }

    /** What the visitor sent on {@code proxySide}'s connection that its window has not got back (sent or not yet). */
    private static int connectionBytesNotGivenBack(Channel proxySide) throws Exception {
        Http2Connection connection = proxySide.pipeline().get(Http2FrameCodec.class).connection();
        return proxySide.eventLoop().submit(() -> connection.local().flowController()
                .unconsumedBytes(connection.connectionStream())).get(5, TimeUnit.SECONDS);
    }

    private long held() {
        return proxy.http2UploadBytesHeld();
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** An open of a tunnel stream, its TCP connection made at once, its stream given to the proxy when {@link #open}. */
    private static final class HeldOpen {
        final Future<? extends Channel> connected;
        final Promise<Channel> opened = ImmediateEventExecutor.INSTANCE.newPromise();

        HeldOpen(Future<? extends Channel> connected) {
            this.connected = connected;
        }

        void open() {
            opened.setSuccess(connected.getNow());
        }
    }
}
