package io.picotunnel.client.tunnel;

import ch.qos.logback.classic.Level;
import io.netty.util.concurrent.SingleThreadEventExecutor;
import io.picotunnel.client.config.AllowList;
import io.picotunnel.protocol.yamux.ResetReason;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** {@link TargetDialer} when the client stops while a stream's target is being looked up or dialled. */
class TargetDialerStopTest {

    private final TargetDialerBehindYamux client = new TargetDialerBehindYamux("stop");
    private final List<Thread> lookups = new CopyOnWriteArrayList<>();
    private final List<Throwable> uncaught = new CopyOnWriteArrayList<>();
    /** As the client's resolver runs lookups (a virtual thread each), with what escapes a lookup kept here. */
    private final Executor resolver = lookup -> lookups.add(Thread.ofVirtual()
            .uncaughtExceptionHandler((thread, e) -> uncaught.add(e)).start(lookup));

    @AfterEach
    void tearDown() throws InterruptedException {
        client.close();
    }

    /** A name of its own: the JVM keeps a name it looked up for 30 s, and this test needs the lookup to run. */
    @Test
    void aLookupEndingAfterTheStreamsLoopStoppedEndsQuietly() throws Exception {
        int lookupsBefore = SlowDnsResolverProvider.SLOW_NAMES.lookupsBegun();
        int port = client.listen(AllowList.ANY, Duration.ofSeconds(30), resolver);
        try (Socket server = new Socket()) {
            server.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            TargetDialerBehindYamux.open(server.getOutputStream(), 2, "stop-" + System.nanoTime() + ".slow.test:" + Ports.freePort(), 0);
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> SlowDnsResolverProvider.SLOW_NAMES.lookupsBegun() > lookupsBefore);

            client.close();

            Duration lookupEnd = SlowDnsResolverProvider.DELAY.plusSeconds(10);
            for (Thread lookup : lookups) {
                assertThat(lookup.join(lookupEnd)).as("the lookup ended within %s", lookupEnd).isTrue();
            }
        }
        // Before, the stream's stopped loop refused the lookup's result, and the RejectedExecutionException went
        // uncaught (a stack trace on stderr after the client's stop).
        assertThat(uncaught).isEmpty();
    }

    @Test
    void aHeaderAfterTheResolverStoppedResetsTheStreamQuietly() throws Exception {
        // TunnelClient's stop shuts its resolver down before its event loops: a header can come in between.
        ExecutorService stopped = Executors.newVirtualThreadPerTaskExecutor();
        stopped.shutdownNow();
        int port = client.listen(AllowList.ANY, Duration.ofSeconds(30), stopped);
        try (LogCapture log = new LogCapture(TargetDialer.class, Level.INFO);
             Socket server = new Socket()) {
            server.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            server.setSoTimeout(10_000);
            TargetDialerBehindYamux.open(server.getOutputStream(), 2, "127.0.0.1:" + Ports.freePort(), 0);

            long reason = TargetDialerBehindYamux.awaitReset(server.getInputStream(), 2);

            assertThat(reason).as("the RST's reason").isEqualTo(ResetReason.NONE.code());
            // Before, the RejectedExecutionException went to exceptionCaught: a WARN naming it, then the reset.
            assertThat(log.messages(Level.WARN)).isEmpty();
        }
    }

    @Test
    void aTargetConnectedAsItsLoopStoppedResetsTheStreamQuietly() throws Exception {
        // As the client's stop with --target-threads: the target's connection is made, and its loop stops before the
        // stream's loop takes it. The stream's loop is held from just after the dial starts until then.
        LoopHold hold = new LoopHold();
        Executor holdingAfterLookup = lookup -> Thread.ofVirtual().start(() -> {
            lookup.run();
            // The lookup queued the dial on the stream's loop: the hold comes right after it.
            client.streamLoop().execute(hold::hold);
        });
        int port = client.listen(AllowList.ANY, Duration.ofSeconds(30), holdingAfterLookup);
        try (ServerSocket target = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
             LogCapture loops = new LogCapture("io.netty", Level.WARN);
             LogCapture dialer = new LogCapture(TargetDialer.class, Level.INFO);
             Socket server = new Socket()) {
            target.setSoTimeout(10_000);
            server.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            server.setSoTimeout(10_000);
            TargetDialerBehindYamux.open(server.getOutputStream(), 2, "127.0.0.1:" + target.getLocalPort(), 0);
            try (Socket accepted = target.accept()) {
                assertThat(accepted.isConnected()).isTrue();
                SingleThreadEventExecutor streamLoop = (SingleThreadEventExecutor) client.streamLoop();
                // The connect's outcome waits behind the hold.
                await().atMost(Duration.ofSeconds(5)).until(() -> streamLoop.pendingTasks() > 0);
                client.stopTargets();
                hold.release();

                long reason = TargetDialerBehindYamux.awaitReset(server.getInputStream(), 2);

                assertThat(reason).as("the RST's reason").isEqualTo(ResetReason.NONE.code());
            } finally {
                hold.letGo();
            }
            // Before, the stopped loop refused the closed socket's group entry (Netty's ERROR), then the relay's start
            // (Netty's WARN, with a stack trace), and the stream was never reset.
            assertThat(loops.messages(Level.ERROR)).isEmpty();
            assertThat(loops.messages(Level.WARN)).isEmpty();
            assertThat(dialer.messages(Level.WARN)).isEmpty();
        }
    }

}
