package io.picotunnel.protocol.yamux;

import io.netty.util.concurrent.AbstractEventExecutor;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * An embedded channel's event loop for one handler, whose next {@code execute} throws what was given to
 * {@link #failNext} (as building or queueing a task may, out of memory, or a loop shutting down refuses it) instead
 * of queueing the task; it counts the tasks it queues.
 */
final class FailingOnceExecutor extends AbstractEventExecutor {

    private final EventExecutor loop;
    private final AtomicReference<Throwable> next = new AtomicReference<>();
    private final AtomicInteger queued = new AtomicInteger();
    private volatile boolean failed;

    FailingOnceExecutor(EventExecutor loop) {
        this.loop = loop;
    }

    void failNext(Error error) {
        failNextWith(error);
    }

    void failNext(RuntimeException refusal) {
        failNextWith(refusal);
    }

    private void failNextWith(Throwable failure) {
        next.set(failure);
        failed = false;
    }

    /** Whether what was given to {@link #failNext} was thrown. */
    boolean failed() {
        return failed;
    }

    /** Tasks queued so far. */
    int queued() {
        return queued.get();
    }

    @Override
    public void execute(Runnable task) {
        Throwable failure = next.getAndSet(null);
        if (failure instanceof Error error) {
            failed = true;
            throw error;
        }
        if (failure != null) {
            failed = true;
            throw (RuntimeException) failure;
        }
        loop.execute(task);
        queued.incrementAndGet();
    }

    @Override
    public boolean inEventLoop(Thread thread) {
        return loop.inEventLoop(thread);
    }

    @Override
    public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
        return loop.schedule(command, delay, unit);
    }

    @Override
    public boolean isShuttingDown() {
        return loop.isShuttingDown();
    }

    @Override
    public Future<?> shutdownGracefully(long quietPeriod, long timeout, TimeUnit unit) {
        return loop.shutdownGracefully(quietPeriod, timeout, unit);
    }

    @Override
    public Future<?> terminationFuture() {
        return loop.terminationFuture();
    }

    @Override
    @Deprecated
    public void shutdown() {
        loop.shutdown();
    }

    @Override
    public boolean isShutdown() {
        return loop.isShutdown();
    }

    @Override
    public boolean isTerminated() {
        return loop.isTerminated();
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
        return loop.awaitTermination(timeout, unit);
    }
}
