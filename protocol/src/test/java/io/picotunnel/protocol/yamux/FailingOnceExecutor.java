package io.picotunnel.protocol.yamux;

import io.netty.util.concurrent.AbstractEventExecutor;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * An embedded channel's event loop for one handler, whose next {@code execute} throws the error given to
 * {@link #failNext} (as building or queueing a task may, out of memory) instead of queueing the task.
 */
final class FailingOnceExecutor extends AbstractEventExecutor {

    private final EventExecutor loop;
    private final AtomicReference<Error> next = new AtomicReference<>();
    private volatile boolean failed;

    FailingOnceExecutor(EventExecutor loop) {
        this.loop = loop;
    }

    void failNext(Error error) {
        next.set(error);
        failed = false;
    }

    /** Whether the error given to {@link #failNext} was thrown. */
    boolean failed() {
        return failed;
    }

    @Override
    public void execute(Runnable task) {
        Error error = next.getAndSet(null);
        if (error != null) {
            failed = true;
            throw error;
        }
        loop.execute(task);
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
