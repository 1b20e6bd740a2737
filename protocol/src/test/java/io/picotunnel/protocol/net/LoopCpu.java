package io.picotunnel.protocol.net;

import io.netty.channel.Channel;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** How busy a channel's event loop is: a loop spinning on an event nobody handles shows as CPU time. */
public final class LoopCpu {

    private LoopCpu() {
    }

    /** The CPU time {@code channel}'s event loop thread uses over {@code window}, which the caller waits out. */
    public static long nanosDuring(Channel channel, Duration window) throws Exception {
        long threadId = channel.eventLoop().submit(() -> Thread.currentThread().threadId()).get(10, TimeUnit.SECONDS);
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long before = threads.getThreadCpuTime(threadId);
        long end = System.nanoTime() + window.toNanos();
        while (System.nanoTime() < end) {
            TimeUnit.NANOSECONDS.sleep(end - System.nanoTime());
        }
        return threads.getThreadCpuTime(threadId) - before;
    }
}
