package io.picotunnel.server.proxy.http;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;

import java.util.concurrent.TimeUnit;

/**
 * A deadline that is set and cleared for every request of a keep-alive connection: arming and disarming only
 * write fields, and the scheduled task, when it fires, looks at the deadline of the moment (waiting on if a later
 * one was set since). A task is scheduled only when none is pending or the new deadline comes before it. Used on
 * one event loop only.
 */
final class LazyTimer {

    private final EventExecutor executor;
    private ScheduledFuture<?> pending;
    /** When {@link #pending} runs, in {@link System#nanoTime} terms. */
    private long firesAt;
    private long deadline;
    private Runnable onExpiry;

    LazyTimer(EventExecutor executor) {
        this.executor = executor;
    }

    /** Runs {@code action} once {@code delay} has passed, unless disarmed or armed again before. */
    void arm(long delay, TimeUnit unit, Runnable action) {
        long now = System.nanoTime();
        deadline = now + unit.toNanos(delay);
        onExpiry = action;
        if (pending == null || deadline - firesAt < 0) {
            if (pending != null) {
                pending.cancel(false);
            }
            schedule(deadline - now);
        }
    }

    void disarm() {
        onExpiry = null;
    }

    /** Disarms and drops the scheduled task too: the connection is done. */
    void cancel() {
        onExpiry = null;
        if (pending != null) {
            pending.cancel(false);
            pending = null;
        }
    }

    boolean isArmed() {
        return onExpiry != null;
    }

    /** Armed, and its action runs within {@code delay} from now: arming it for that long would change nothing. */
    boolean armedWithin(long delay, TimeUnit unit) {
        return onExpiry != null && deadline - System.nanoTime() <= unit.toNanos(delay);
    }

    private void schedule(long delayNanos) {
        firesAt = System.nanoTime() + delayNanos;
        pending = executor.schedule(this::fire, delayNanos, TimeUnit.NANOSECONDS);
    }

    private void fire() {
        pending = null;
        Runnable action = onExpiry;
        if (action == null) {
            return;
        }
        long left = deadline - System.nanoTime();
        if (left > 0) {
            schedule(left);
            return;
        }
        onExpiry = null;
        action.run();
    }
}
