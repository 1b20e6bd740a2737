package io.picotunnel.server.proxy.http;

import io.netty.channel.DefaultEventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class LazyTimerTest {

    /** An event loop that counts the tasks scheduled on it. */
    private static final class CountingLoop extends DefaultEventLoop {
        final AtomicInteger scheduled = new AtomicInteger();

        @Override
        public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
            scheduled.incrementAndGet();
            return super.schedule(command, delay, unit);
        }
    }

    private final CountingLoop loop = new CountingLoop();
    private final LazyTimer timer = new LazyTimer(loop);
    private final AtomicInteger fired = new AtomicInteger();

    @AfterEach
    void stop() {
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private void onLoop(Runnable action) throws Exception {
        loop.submit(action).get(10, TimeUnit.SECONDS);
    }

    @Test
    void firesOnceWhenItsDeadlineHasPassed() throws Exception {
        onLoop(() -> timer.arm(50, TimeUnit.MILLISECONDS, fired::incrementAndGet));
        await().atMost(Duration.ofSeconds(10)).until(() -> fired.get() == 1);
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> fired.get() == 1);
        assertThat(timer.isArmed()).isFalse();
    }

    @Test
    void armingAndDisarmingForEveryRequestSchedulesOneTask() throws Exception {
        onLoop(() -> {
            for (int i = 0; i < 10_000; i++) {
                timer.arm(30, TimeUnit.SECONDS, fired::incrementAndGet);
                timer.disarm();
            }
        });
        assertThat(loop.scheduled.get()).isEqualTo(1);
        assertThat(fired.get()).isZero();
    }

    @Test
    void aLaterDeadlineWaitsOnPastTheFirstOne() throws Exception {
        onLoop(() -> timer.arm(100, TimeUnit.MILLISECONDS, fired::incrementAndGet));
        onLoop(() -> timer.arm(30, TimeUnit.SECONDS, fired::incrementAndGet));
        // the task for the first deadline runs and waits on instead of firing
        await().atMost(Duration.ofSeconds(10)).until(() -> loop.scheduled.get() == 2);
        assertThat(fired.get()).isZero();
        assertThat(timer.isArmed()).isTrue();
    }

    @Test
    void anEarlierDeadlineThanTheTaskPendingIsScheduledAnew() throws Exception {
        onLoop(() -> timer.arm(30, TimeUnit.SECONDS, () -> fired.addAndGet(100)));
        onLoop(() -> timer.arm(50, TimeUnit.MILLISECONDS, fired::incrementAndGet));
        await().atMost(Duration.ofSeconds(10)).until(() -> fired.get() == 1);
    }

    @Test
    void aDisarmedTimerDoesNotFire() throws Exception {
        onLoop(() -> {
            timer.arm(50, TimeUnit.MILLISECONDS, fired::incrementAndGet);
            timer.disarm();
        });
        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(() -> fired.get() == 0);
        assertThat(timer.isArmed()).isFalse();
    }

    @Test
    void theLastActionArmedIsTheOneThatRuns() throws Exception {
        AtomicInteger first = new AtomicInteger();
        onLoop(() -> {
            timer.arm(50, TimeUnit.MILLISECONDS, first::incrementAndGet);
            timer.arm(50, TimeUnit.MILLISECONDS, fired::incrementAndGet);
        });
        await().atMost(Duration.ofSeconds(10)).until(() -> fired.get() == 1);
        assertThat(first.get()).isZero();
    }

    @Test
    void armedWithinSaysWhetherTheActionRunsWithinTheDelay() throws Exception {
        boolean[] seen = new boolean[4];
        onLoop(() -> {
            seen[0] = timer.armedWithin(1, TimeUnit.SECONDS); // not armed
            timer.arm(30, TimeUnit.SECONDS, fired::incrementAndGet);
            seen[1] = timer.armedWithin(1, TimeUnit.SECONDS);
            seen[2] = timer.armedWithin(31, TimeUnit.SECONDS);
            timer.disarm();
            seen[3] = timer.armedWithin(31, TimeUnit.SECONDS);
        });
        assertThat(seen).containsExactly(false, false, true, false);
    }
}
