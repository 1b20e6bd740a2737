package io.picotunnel.server.proxy.http;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SingleThreadIoEventLoop;
import io.netty.channel.local.LocalAddress;
import io.netty.channel.local.LocalChannel;
import io.netty.channel.local.LocalIoHandler;
import io.netty.channel.local.LocalServerChannel;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.TlsMode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A lease given back on one thread while the API's thread deletes its service, over and over, on real loops (local
 * channels): {@link UpstreamPoolTest}'s embedded channels run on the caller's thread only.
 */
class UpstreamPoolRaceTest {

    private static final int ROUNDS = 400;
    private static final long WAIT_SECONDS = 30;
    /** Far past every wait here, so that a timer left pending cannot end by firing before the test looks. */
    private static final Duration IDLE_TIMEOUT = Duration.ofMinutes(10);

    /** The idle timers the pool scheduled on {@link #loops}: each must be cancelled once its stream is closed. */
    private final Queue<ScheduledFuture<?>> idleTimers = new ConcurrentLinkedQueue<>();
    private final EventLoopGroup loops = new MultiThreadIoEventLoopGroup(2, LocalIoHandler.newFactory()) {
        @Override
        protected IoEventLoop newChild(Executor executor, IoHandlerFactory factory, Object... args) {
            return new SingleThreadIoEventLoop(this, executor, factory) {
                @Override
                public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
                    ScheduledFuture<?> timer = super.schedule(command, delay, unit);
                    if (unit.toMillis(delay) == IDLE_TIMEOUT.toMillis()) {
                        idleTimers.add(timer);
                    }
                    return timer;
                }
            };
        }
    };
    private final ExecutorService releaser = Executors.newSingleThreadExecutor();
    private final LocalAddress address = new LocalAddress("upstream-pool-race");
    private final HttpRoutes routes = new HttpRoutes();
    private final UpstreamPool pool = new UpstreamPool(this::open, routes, IDLE_TIMEOUT, 4);
    private Channel server;

    @AfterEach
    void stop() throws InterruptedException {
        pool.close();
        releaser.shutdownNow();
        if (server != null) {
            server.close().await(WAIT_SECONDS, TimeUnit.SECONDS);
        }
        loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(WAIT_SECONDS, TimeUnit.SECONDS);
    }

    /** A local stream to the local server, which accepts and says nothing. */
    private Future<Channel> open(Service service, ChannelHandler initializer) {
        Promise<Channel> opened = loops.next().newPromise();
        new Bootstrap().group(loops).channel(LocalChannel.class).handler(initializer).connect(address)
                .addListener((ChannelFuture f) -> {
                    if (f.isSuccess()) {
                        opened.trySuccess(f.channel());
                    } else {
                        opened.tryFailure(f.cause());
                    }
                });
        return opened;
    }

    @Test
    void aLeaseGivenBackWhileItsServiceIsDeletedIsNeverLeftIdle() throws Exception {
        server = new ServerBootstrap().group(loops).channel(LocalServerChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                    }
                }).bind(address).sync().channel();
        for (int round = 0; round < ROUNDS; round++) {
            Service service = new Service("r-" + round, "t1", ServiceType.HTTP, "r" + round + ".test", "/",
                    TlsMode.TERMINATE, null, "127.0.0.1:1", true, Instant.now());
            routes.onServiceChange(null, service);
            UpstreamPool.Lease lease = pool.acquire(service, new ChannelInboundHandlerAdapter())
                    .get(WAIT_SECONDS, TimeUnit.SECONDS);
            CyclicBarrier together = new CyclicBarrier(2);
            java.util.concurrent.Future<?> released = releaser.submit(() -> {
                together.await(WAIT_SECONDS, TimeUnit.SECONDS);
                pool.release(lease);
                return null;
            });
            together.await(WAIT_SECONDS, TimeUnit.SECONDS);
            routes.onServiceChange(service, null);
            released.get(WAIT_SECONDS, TimeUnit.SECONDS);

            assertThat(lease.channel().closeFuture().await(WAIT_SECONDS, TimeUnit.SECONDS))
                    .as("the stream of deleted service %s, given back as it was deleted, closed", service.id())
                    .isTrue();
        }
        await().atMost(Duration.ofSeconds(WAIT_SECONDS)).until(() -> pool.keyCount() == 0 && pool.idleCount() == 0);
        assertThat(idleTimers).as("idle timers recorded (the pool schedules them as this test expects)").isNotEmpty();
        await().atMost(Duration.ofSeconds(WAIT_SECONDS)).untilAsserted(() -> assertThat(idleTimers)
                .as("idle timers of closed streams still pending").filteredOn(timer -> !timer.isDone()).isEmpty());
    }
}
