package io.picotunnel.protocol.net;

import io.netty.util.concurrent.EventExecutor;

import java.util.concurrent.RejectedExecutionException;

/**
 * Runs a task on an event loop from any thread: at once when already on it, else as a task of the loop. A loop that is
 * shutting down refuses the task ({@link RejectedExecutionException}); what the caller gives for that case runs here
 * instead, as the task never will.
 */
public final class OnLoop {

    private OnLoop() {
    }

    public static void run(EventExecutor loop, Runnable task, Runnable ifStopped) {
        if (loop.inEventLoop()) {
            task.run();
            return;
        }
        try {
            loop.execute(task);
        } catch (RejectedExecutionException stopped) {
            ifStopped.run();
        }
    }
}
