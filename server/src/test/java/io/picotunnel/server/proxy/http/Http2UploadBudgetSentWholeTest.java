package io.picotunnel.server.proxy.http;

import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2Error;
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

import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
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
    /** The bound of the wait for the upload's last write, but in the test of that bound: longer than any test. */
    private static final Duration NO_BOUND_HERE = Duration.ofMinutes(5);

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
    /** The upload's visitor connection, and the upload's stream on it. */
    private Channel visitor;
    private Http2StreamChannel uploadStream;
    /** The other connection, whose frame passes the budget, and that frame's stream's answer. */
    private Channel others;
    private final Http2UploadBudgetPeers.Answer otherAnswer = new Http2UploadBudgetPeers.Answer();
    private boolean tunnelWritesNeverDone;
    /** The tunnel stream's writes stay under way though it closes, as a write done only once a busy loop turns. */
    private boolean tunnelWritesUnderWayOnceClosed;
    private Duration lastWriteWait = NO_BOUND_HERE;
    /** Tunnel streams asked for from now on are given at once, not held. */
    private volatile boolean openAtOnce;

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

        assertLeftToGoOn(answer, OTHER_HELD);
        assertThat(otherAnswer.status).as("the answer to the frame that passed the budget").isNotDone();
    }

    /**
     * The tunnel stream on another loop: the open only queues the writes there, and the end runs with the last one
     * under way. Decided then, the visitor was answered 503 while the target got the whole request. The budget stays a
     * hard limit while the end waits (see the next test): the other stream, whose frame passed it, is ended instead.
     */
    @Test
    void anUploadWhoseLastWriteIntoATunnelOnAnotherLoopIsUnderWayAsItsEndRunsIsLeftToGoOnOnceWritten()
            throws Exception {
        startProxy(tunnelLoop);
        Http2UploadBudgetPeers.Answer answer = sendWholeWhileItsEndIsQueuedAndRuns(UPLOAD);
        assertThat(answer.status).as("the upload's answer while its writes wait").isNotDone();
        releaseTunnel.countDown();

        assertLeftToGoOn(answer, 0);
    }

    /**
     * While the end of an upload waits for its last write into the tunnel, what the upload holds still counts in the
     * budget, which stays a hard limit: the other stream, whose frame passed the budget and chose the upload, is ended
     * at once, and so is a stream whose frame passes it meanwhile; the waiting upload is not chosen again. Counted as
     * being freed while it waited, the upload let both in, the budget holding more than its limit.
     */
    @Test
    void whileAnUploadsEndWaitsForItsLastWriteWhatPassesTheBudgetIsStillEnded() throws Exception {
        startProxy(tunnelLoop);
        Http2UploadBudgetPeers.Answer answer = sendWholeWhileItsEndIsQueuedAndRuns(UPLOAD);

        assertThat(otherAnswer.status.get(10, TimeUnit.SECONDS)).as("the answer to the frame that passed the budget")
                .isEqualTo("503");
        await().atMost(10, TimeUnit.SECONDS).alias("the budget holding the waiting upload only")
                .until(() -> held() == UPLOAD_HELD);
        Http2UploadBudgetPeers.Answer further = new Http2UploadBudgetPeers.Answer();
        Http2UploadBudgetPeers.send(Http2UploadBudgetPeers.upload(others, further), FRAME, false);
        assertThat(further.status.get(10, TimeUnit.SECONDS)).as("the answer to a frame passing the budget meanwhile")
                .isEqualTo("503");
        await().atMost(10, TimeUnit.SECONDS).alias("the budget holding the waiting upload only, again")
                .until(() -> held() == UPLOAD_HELD);
        assertThat(answer.status).as("the waiting upload's answer").isNotDone();
        releaseTunnel.countDown();

        assertLeftToGoOn(answer, 0);
    }

    /**
     * Two uploads whose last writes into the tunnel are under way and never done, the second made whole while the
     * first's end is queued: the first's end waits, its bytes back in the check, and chooses the second, whose end would
     * wait too. Nothing else holds anything to be ended for them, so the second does not wait: it is answered 503 and
     * the budget holds the first only. Waiting both, the budget held both, twice its limit, for as long as the waits.
     */
    @Test
    void anUploadWhoseEndWouldWaitWithOnlyWaitingUploadsLeftToEndPastTheBudgetIsEndedAtOnce() throws Exception {
        tunnelWritesNeverDone = true;
        startProxy(tunnelLoop);
        Http2UploadBudgetPeers.Answer first = new Http2UploadBudgetPeers.Answer();
        HeldOpen firstOpen = sendWholeWhileItsStreamOpens(Http2UploadBudgetPeers.startProxy(uploadLoop, proxy), first,
                Http2UploadBudgetPeers.postHead().path("/hang"));
        openWithWritesNeverDone(firstOpen, uploadLoop);

        // The first's end, chosen by the second's first frame, queued on its held loop until the second is whole in
        // its own tunnel stream's queue
        hold(uploadLoop.next(), release);
        others = Http2UploadBudgetPeers.connect(visitors, Http2UploadBudgetPeers.startProxy(otherLoop, proxy));
        Http2UploadBudgetPeers.Answer second = new Http2UploadBudgetPeers.Answer();
        Http2StreamChannel secondUpload = Http2UploadBudgetPeers.upload(others, second,
                Http2UploadBudgetPeers.postHead().path("/hang"));
        for (int frame = 1; frame <= FRAMES; frame++) {
            Http2UploadBudgetPeers.send(secondUpload, FRAME, frame == FRAMES);
        }
        await().atMost(10, TimeUnit.SECONDS).alias("both uploads held whole").until(() -> held() == 2 * UPLOAD_HELD);
        HeldOpen secondOpen = opens.poll(10, TimeUnit.SECONDS);
        assertThat(secondOpen).as("the second upload's tunnel stream asked for").isNotNull();
        secondOpen.connected.await(10, TimeUnit.SECONDS);
        openWithWritesNeverDone(secondOpen, otherLoop);
        // The second's end, chosen by the first's, held until the first waits: run at once, in parallel, it could
        // count the second's bytes again before the first looked at the budget, which then found it passed
        CountDownLatch releaseOther = new CountDownLatch(1);
        try {
            hold(otherLoop.next(), releaseOther);
            release.countDown();
            await().atMost(10, TimeUnit.SECONDS).alias("the first upload's end waiting")
                    .until(() -> proxy.http2UploadBudget().waitsTimed() == 1);
        } finally {
            releaseOther.countDown();
        }

        await().atMost(10, TimeUnit.SECONDS).untilAsserted(() -> assertThat(held())
                .as("the budget holding the waiting upload only").isEqualTo(UPLOAD_HELD));
        assertThat(second.status.get(10, TimeUnit.SECONDS)).as("the second upload's answer").isEqualTo("503");
        assertThat(first.status).as("the waiting upload's answer").isNotDone();
    }

    /**
     * The wait for an upload's last write into the tunnel is bounded: a write that is never done (the tunnel stream
     * without window, its target never answering) ends the wait at its bound, and the upload is answered 503 as one
     * whose request is not in the tunnel whole, what it held leaving the budget; without the bound only the response
     * timeout, a minute, ended it.
     */
    @Test
    void anUploadWhoseLastWriteIsNeverDoneIsAnswered503AtTheWaitsBound() throws Exception {
        tunnelWritesNeverDone = true;
        lastWriteWait = Duration.ofMillis(300);
        Http2UploadBudgetPeers.Answer answer = hangingUploadWhoseEndRan();

        assertThat(answer.status.get(10, TimeUnit.SECONDS)).as("the upload's answer at the wait's bound")
                .isEqualTo("503");
        await().atMost(10, TimeUnit.SECONDS).alias("what the upload was counted for out of the budget")
                .until(() -> held() == 0);
    }

    /**
     * Left to go on, an upload gets the credit of its pieces back as it would have, its connection's with its stream's,
     * while its stream stays open for the answer. Given back only as the stream closed, a long answer kept the visitor's
     * connection window that much smaller meanwhile.
     */
    @Test
    void anUploadLeftToGoOnGetsTheCreditOfItsPiecesBackWhileItsAnswerIsAwaited() throws Exception {
        Http2UploadBudgetPeers.Answer answer = hangingUploadWhoseEndRan();

        await().atMost(10, TimeUnit.SECONDS).alias("what the upload was counted for out of the budget")
                .until(() -> held() == 0);
        Channel proxySide = proxySides.poll(10, TimeUnit.SECONDS);
        assertThat(proxySide).as("the proxy's side of the upload's connection").isNotNull();
        await().atMost(10, TimeUnit.SECONDS).alias("the upload's bytes given back to the connection's window")
                .until(() -> connectionBytesNotGivenBack(proxySide) == 0);
        assertThat(answer.status).as("the answer, which the target holds").isNotDone();
    }

    /**
     * An upload whose answer began (an event stream's head sent before the target reads the request) and whose last
     * write into the tunnel never completes (the tunnel stream without window) is reset when the budget ends it, as
     * before the wait for that write: nothing bounds that wait once the response streams (the response timeout is no
     * longer armed, the target keeps sending), and what it holds would stay out of the budget's reckoning meanwhile.
     */
    @Test
    void anUploadWhoseAnswerBeganIsResetWithoutWaitingForItsLastWriteIntoTheTunnel() throws Exception {
        startProxy(tunnelLoop);
        Channel uploads = Http2UploadBudgetPeers.startProxy(uploadLoop, proxy);
        others = Http2UploadBudgetPeers.connect(visitors, Http2UploadBudgetPeers.startProxy(otherLoop, proxy));
        Http2UploadBudgetPeers.Answer answer = new Http2UploadBudgetPeers.Answer();
        HeldOpen uploadOpen = sendWholeWhileItsStreamOpens(uploads, answer,
                Http2UploadBudgetPeers.postHead().path("/sse"));
        uploadOpen.connected.getNow().pipeline().addFirst(new WritesNeverDone(true));
        uploadOpen.open();
        assertThat(answer.status.get(10, TimeUnit.SECONDS)).as("the event stream's head").isEqualTo("200");
        assertThat(held()).as("the upload, its writes into the tunnel under way").isEqualTo(UPLOAD_HELD);

        Http2UploadBudgetPeers.send(Http2UploadBudgetPeers.upload(others, otherAnswer), OTHER_FRAME, false);

        assertThat(answer.reset.get(10, TimeUnit.SECONDS)).as("the upload's reset")
                .isEqualTo(Http2Error.ENHANCE_YOUR_CALM.code());
        await().atMost(10, TimeUnit.SECONDS).alias("what the upload was counted for out of the budget")
                .until(() -> held() == OTHER_HELD);
    }

    /**
     * Chosen before its answer began, its last write into the tunnel under way and never done (the tunnel stream
     * without window), the upload's end waits; its answer begins meanwhile (an event stream's head, the request never
     * read), which turns the response timeout off: the wait ends there and the upload is reset, else nothing but the
     * target bounded it.
     */
    @Test
    void anUploadWhoseAnswerBeginsWhileItsEndWaitsForItsLastWriteIsReset() throws Exception {
        tunnelWritesNeverDone = true;
        startProxy(tunnelLoop);
        Http2UploadBudgetPeers.Answer answer = sendWholeWhileItsEndIsQueuedAndRuns(
                Http2UploadBudgetPeers.postHead().path("/sse"));
        releaseTunnel.countDown();
        assertThat(answer.status.get(10, TimeUnit.SECONDS)).as("the event stream's head").isEqualTo("200");

        assertThat(answer.reset.get(10, TimeUnit.SECONDS)).as("the upload's reset")
                .isEqualTo(Http2Error.ENHANCE_YOUR_CALM.code());
    }

    /**
     * The visitor resets the upload's stream while its end waits for its last write into the tunnel (never done): the
     * wait's timer is cancelled with the stream, and the budget's counts are back to nothing. Left timed, it kept the
     * upload and its stream reachable for the wait's bound.
     */
    @Test
    void anUploadWhoseStreamClosesWhileItsEndWaitsLeavesNoTimerAndNothingCounted() throws Exception {
        uploadClosedWhileItsEndWaits(() -> uploadStream.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.CANCEL)));
    }

    /** As above, the visitor's whole connection closed during the wait. */
    @Test
    void anUploadWhoseConnectionClosesWhileItsEndWaitsLeavesNoTimerAndNothingCounted() throws Exception {
        uploadClosedWhileItsEndWaits(() -> visitor.close());
    }

    private void uploadClosedWhileItsEndWaits(Runnable close) throws Exception {
        tunnelWritesNeverDone = true;
        tunnelWritesUnderWayOnceClosed = true; // else the write, failed as the tunnel stream closes, ends the wait
        Http2UploadBudgetPeers.Answer answer = hangingUploadWhoseEndRan();
        assertThat(otherAnswer.status.get(10, TimeUnit.SECONDS)).as("the answer to the frame that passed the budget")
                .isEqualTo("503");
        Http2UploadBudget budget = proxy.http2UploadBudget();
        assertThat(budget.waitsTimed()).as("the upload's end waiting, its bound timed").isEqualTo(1);

        close.run();

        await().atMost(10, TimeUnit.SECONDS).alias("the wait's timer cancelled")
                .until(() -> budget.waitsTimed() == 0);
        await().atMost(10, TimeUnit.SECONDS).alias("what the upload was counted for out of the budget")
                .until(() -> held() == 0 && budget.freeing() == 0);
        assertThat(answer.status).as("the closed upload's answer").isNotDone();
    }

    private void startProxy(EventLoopGroup tunnelStreams) {
        HttpRoutes routes = new HttpRoutes();
        routes.onServiceChange(null, new Service("s1", "t1", ServiceType.HTTP, "uploads.test", "/", TlsMode.TERMINATE,
                null, target.address(), true, Instant.now()));
        DirectOpener direct = new DirectOpener(tunnelStreams);
        proxy = HttpProxy.builder().routes(routes).http2UploadBudget(BUDGET).http2LastWriteWait(lastWriteWait)
                .opener((service, handler) -> {
                    Future<? extends Channel> connecting = direct.open(service, handler);
                    if (openAtOnce) {
                        return connecting;
                    }
                    if (tunnelWritesNeverDone) {
                        connecting.addListener(f -> {
                            if (f.isSuccess()) {
                                ((Channel) f.getNow()).pipeline()
                                        .addFirst(new WritesNeverDone(!tunnelWritesUnderWayOnceClosed));
                            }
                        });
                    }
                    HeldOpen open = new HeldOpen(connecting);
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
        others = Http2UploadBudgetPeers.connect(visitors, Http2UploadBudgetPeers.startProxy(otherLoop, proxy));

        Http2UploadBudgetPeers.Answer answer = new Http2UploadBudgetPeers.Answer();
        HeldOpen uploadOpen = sendWholeWhileItsStreamOpens(uploads, answer, head);

        // Its loop held: the stream's open is queued there, which sends the whole request into the tunnel
        hold(uploadLoop.next(), release);
        uploadOpen.open();

        // Another connection's frame passes the budget: the upload, its connection holding the most, is chosen, and
        // its end queued behind the open
        Http2UploadBudgetPeers.send(Http2UploadBudgetPeers.upload(others, otherAnswer), OTHER_FRAME, false);
        await().atMost(10, TimeUnit.SECONDS).alias("the other frame counted").until(() -> held() == UPLOAD_HELD + OTHER_HELD);
        otherLoop.next().submit(() -> {
        }).get(10, TimeUnit.SECONDS); // the read that counted it, and chose, is over
        if (holdTheTunnel) {
            hold(tunnelLoop.next(), releaseTunnel);
        }
        release.countDown();
        return answer;
    }

    /** An upload its target never answers, sent as by {@link #sendWholeWhileItsEndIsQueuedAndRuns}, the tunnel let go. */
    private Http2UploadBudgetPeers.Answer hangingUploadWhoseEndRan() throws Exception {
        startProxy(tunnelLoop);
        Http2UploadBudgetPeers.Answer answer = sendWholeWhileItsEndIsQueuedAndRuns(
                Http2UploadBudgetPeers.postHead().path("/hang"));
        releaseTunnel.countDown();
        return answer;
    }

    /**
     * As {@link #sendWholeWhileItsEndIsQueued}, the tunnel's loop held: returns once the open, which queued the
     * request's writes there, and the upload's end have run on the upload's loop.
     */
    private Http2UploadBudgetPeers.Answer sendWholeWhileItsEndIsQueuedAndRuns(Http2Headers head) throws Exception {
        Http2UploadBudgetPeers.Answer answer = sendWholeWhileItsEndIsQueued(true, head);
        uploadLoop.next().submit(() -> {
        }).get(10, TimeUnit.SECONDS);
        return answer;
    }

    /**
     * Connects the upload's visitor to {@code uploads} and sends the whole upload, which waits in the proxy, counted,
     * while its tunnel stream opens: that open, its connection to the target made, the stream not given yet.
     */
    private HeldOpen sendWholeWhileItsStreamOpens(Channel uploads, Http2UploadBudgetPeers.Answer answer,
            Http2Headers head) throws Exception {
        visitor = Http2UploadBudgetPeers.connect(visitors, uploads);
        uploadStream = Http2UploadBudgetPeers.upload(visitor, answer, head);
        for (int frame = 1; frame <= FRAMES; frame++) {
            Http2UploadBudgetPeers.send(uploadStream, FRAME, frame == FRAMES);
        }
        await().atMost(10, TimeUnit.SECONDS).alias("the upload held whole").until(() -> held() == UPLOAD_HELD);
        HeldOpen uploadOpen = opens.poll(10, TimeUnit.SECONDS);
        assertThat(uploadOpen).as("the upload's tunnel stream asked for").isNotNull();
        uploadOpen.connected.await(10, TimeUnit.SECONDS);
        assertThat(uploadOpen.connected.isSuccess()).as("its connection to the target").isTrue();
        return uploadOpen;
    }

    /**
     * The upload answered by its target, what it was counted for out of the budget, never reset: neither right after
     * the body nor later, when another request on the same connection was answered behind it.
     */
    private void assertLeftToGoOn(Http2UploadBudgetPeers.Answer answer, long heldThen) throws Exception {
        assertThat(answer.status.get(10, TimeUnit.SECONDS)).as("the upload's answer").isEqualTo("200");
        assertThat(answer.body.get(10, TimeUnit.SECONDS)).as("what the target read")
                .startsWith("bytes=" + FRAMES * FRAME + " ");
        await().atMost(10, TimeUnit.SECONDS).alias("what the upload was counted for out of the budget")
                .until(() -> held() == heldThen);
        assertThat(answer.reset).as("a reset of the upload's stream").isNotDone();

        Http2UploadBudgetPeers.Answer next = new Http2UploadBudgetPeers.Answer();
        openAtOnce = true; // the next upload's tunnel stream, should the upload's own not be reused
        Http2UploadBudgetPeers.send(Http2UploadBudgetPeers.upload(visitor, next), 1, true);
        assertThat(next.status.get(10, TimeUnit.SECONDS)).as("the next upload's answer").isEqualTo("200");
        assertThat(answer.reset).as("a reset of the upload's stream, later").isNotDone();
    }

    /**
     * Gives the proxy {@code open}'s tunnel stream, whose writes are never done, and returns once the request's writes
     * were queued there by {@code uploadLoop}, the upload's.
     */
    private static void openWithWritesNeverDone(HeldOpen open, EventLoopGroup uploadLoop) throws Exception {
        assertThat(open.connected.isSuccess()).as("the tunnel stream's connection to the target").isTrue();
        Channel tunnelStream = open.connected.getNow();
        await().atMost(10, TimeUnit.SECONDS).alias("the tunnel stream's writes held")
                .until(() -> tunnelStream.pipeline().get(WritesNeverDone.class) != null);
        open.open();
        uploadLoop.next().submit(() -> {
        }).get(10, TimeUnit.SECONDS);
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

    /**
     * Passes each write on, its promise left pending until the channel ends (or for good, unless {@code failOnClose}):
     * a tunnel stream without window.
     */
    private static final class WritesNeverDone extends ChannelDuplexHandler {
        private final List<ChannelPromise> pending = new ArrayList<>();
        private final boolean failOnClose;

        WritesNeverDone(boolean failOnClose) {
            this.failOnClose = failOnClose;
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            pending.add(promise);
            ctx.write(msg);
        }

        @Override
        public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
            failPending();
            ctx.close(promise);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            failPending();
            ctx.fireChannelInactive();
        }

        private void failPending() {
            if (!failOnClose) {
                return;
            }
            pending.forEach(promise -> promise.tryFailure(new ClosedChannelException()));
            pending.clear();
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
