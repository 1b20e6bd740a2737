package io.netty.util.concurrent;

import java.util.concurrent.TimeUnit;

/** The tasks scheduled on an event loop and not run yet, which Netty keeps to its package. */
public final class ScheduledTasks {

    private ScheduledTasks() {
    }

    /** How many tasks are scheduled on {@code loop}, counted on the loop. */
    public static int count(EventExecutor loop) throws Exception {
        return loop.submit(() -> ((AbstractScheduledEventExecutor) loop).scheduledTaskQueue().size())
                .get(10, TimeUnit.SECONDS);
    }
}
