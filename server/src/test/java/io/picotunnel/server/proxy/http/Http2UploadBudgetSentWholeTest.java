package io.picotunnel.server.proxy.http;

import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
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
 * clients; the order of the tasks is the upload's loop's queue, held by a latch.
 */
class Http2UploadBudgetSentWholeTest {

    private static final int FRAME = 1000;
    private static final int FRAMES = 3;
    private static final long UPLOAD_HELD = FRAMES * (FRAME + Http2UploadBudget.FRAME_COST);
    private static final int OTHER_FRAME = 100;
    private static final long OTHER_HELD = OTHER_FRAME + Http2UploadBudget.FRAME_COST;
    /** The upload alone fits; the other stream's frame passes it. */
    private static final long BUDGET = UPLOAD_HELD + OTHER_HELD - 1;

    /** The upload's connection, its tunnel stream too: the stream's writes into the tunnel are done as it flushes. */
    private final EventLoopGroup uploadLoop = Transport.newEventLoopGroup(1, "sent-whole-upload");
    /** The other connection, whose frame passes the budget. */
    private final EventLoopGroup otherLoop = Transport.newEventLoopGroup(1, "sent-whole-other");
    private final EventLoopGroup visitors = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final BlockingQueue<HeldOpen> opens = new LinkedBlockingQueue<>();
    private TargetServer target;
    private HttpProxy proxy;

    @BeforeEach
    void start() throws Exception {
        target = new TargetServer("uploads");
        HttpRoutes routes = new HttpRoutes();
        routes.onServiceChange(null, new Service("s1", "t1", ServiceType.HTTP, "uploads.test", "/", TlsMode.TERMINATE,
                null, target.address(), true, Instant.now()));
        DirectOpener direct = new DirectOpener(uploadLoop);
        proxy = HttpProxy.builder().routes(routes).http2UploadBudget(BUDGET).opener((service, handler) -> {
            HeldOpen open = new HeldOpen(direct.open(service, handler));
            opens.add(open);
            return open.opened;
        }).build();
    }

    @AfterEach
    void stop() {
        visitors.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        otherLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        uploadLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        target.close();
    }

    @Test
    void anUploadWhoseRequestWentIntoTheTunnelWholeBeforeItsEndRanIsLeftToGoOn() throws Exception {
        Channel uploads = Http2UploadBudgetPeers.startProxy(uploadLoop, proxy);
        Channel others = Http2UploadBudgetPeers.startProxy(otherLoop, proxy);

        // The whole upload waits in the proxy while its tunnel stream opens, counted
        Http2UploadBudgetPeers.Answer answer = new Http2UploadBudgetPeers.Answer();
        Http2StreamChannel upload = Http2UploadBudgetPeers.upload(Http2UploadBudgetPeers.connect(visitors, uploads),
                answer);
        for (int frame = 1; frame <= FRAMES; frame++) {
            Http2UploadBudgetPeers.send(upload, FRAME, frame == FRAMES);
        }
        await().atMost(10, TimeUnit.SECONDS).alias("the upload held whole").until(() -> held() == UPLOAD_HELD);
        HeldOpen uploadOpen = opens.poll(10, TimeUnit.SECONDS);
        assertThat(uploadOpen).as("the upload's tunnel stream asked for").isNotNull();
        uploadOpen.connected.await(10, TimeUnit.SECONDS);
        assertThat(uploadOpen.connected.isSuccess()).as("its connection to the target").isTrue();

        // Its loop held: the stream's open is queued there, which sends the whole request into the tunnel
        EventLoop loop = uploadLoop.next();
        CountDownLatch holding = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        loop.execute(() -> {
            holding.countDown();
            awaitQuietly(release);
        });
        assertThat(holding.await(10, TimeUnit.SECONDS)).as("the upload's loop held").isTrue();
        uploadOpen.open();

        // Another connection's frame passes the budget: the upload, its connection holding the most, is chosen, and
        // its end queued behind the open
        Http2StreamChannel other = Http2UploadBudgetPeers.upload(Http2UploadBudgetPeers.connect(visitors, others),
                new Http2UploadBudgetPeers.Answer());
        Http2UploadBudgetPeers.send(other, OTHER_FRAME, false);
        await().atMost(10, TimeUnit.SECONDS).alias("the other frame counted").until(() -> held() == UPLOAD_HELD + OTHER_HELD);
        otherLoop.next().submit(() -> {
        }).get(10, TimeUnit.SECONDS); // the read that counted it, and chose, is over
        release.countDown();

        assertThat(answer.status.get(10, TimeUnit.SECONDS)).as("the upload's answer").isEqualTo("200");
        assertThat(answer.body.get(10, TimeUnit.SECONDS)).as("what the target read")
                .startsWith("bytes=" + FRAMES * FRAME + " ");
        await().atMost(10, TimeUnit.SECONDS).alias("what the upload was counted for out of the budget")
                .until(() -> held() == OTHER_HELD);
        assertThat(answer.reset).as("a reset of the upload's stream").isNotDone();
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
