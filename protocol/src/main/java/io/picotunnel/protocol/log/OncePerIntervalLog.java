package io.picotunnel.protocol.log;

import org.slf4j.Logger;

import java.time.Duration;
import java.util.function.LongFunction;
import java.util.function.LongSupplier;

/**
 * A line that comes in floods (refusals, frames that found no memory), written at most once per interval: the first
 * of an interval is logged, built from the number of the others since the last line; the rest of the interval only
 * count, and build nothing. Each caller words its own lines. Thread-safe: callers run on many event loops.
 */
public final class OncePerIntervalLog {

    private final Logger log;
    private final Duration interval;
    private final long intervalNanos;
    private final LongSupplier nanoTime;
    private boolean logged;
    private long nextLineAt;
    private long unlogged;

    /** With the clock read for the interval: {@link System#nanoTime} but in tests. */
    public OncePerIntervalLog(Logger log, Duration interval, LongSupplier nanoTime) {
        this.log = log;
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("the interval must be positive, not " + interval);
        }
        this.interval = interval;
        this.intervalNanos = interval.toNanos();
        this.nanoTime = nanoTime;
    }

    public Duration interval() {
        return interval;
    }

    /** At WARN the line {@code line} builds from the count of those not logged since the last, if one is due. */
    public void warn(LongFunction<String> line) {
        long skipped = startLine(nanoTime.getAsLong());
        if (skipped >= 0) {
            log.warn(line.apply(skipped));
        }
    }

    /** As {@link #warn(LongFunction)}, with {@code cause}'s stack trace. */
    public void warn(LongFunction<String> line, Throwable cause) {
        long skipped = startLine(nanoTime.getAsLong());
        if (skipped >= 0) {
            log.warn(line.apply(skipped), cause);
        }
    }

    /** As {@link #warn(LongFunction)}, at INFO. */
    public void info(LongFunction<String> line) {
        long skipped = startLine(nanoTime.getAsLong());
        if (skipped >= 0) {
            log.info(line.apply(skipped));
        }
    }

    /**
     * One occurrence at {@code now}: -1 when a line was written less than an interval before, the occurrence then
     * only counted; else a line is due, its interval starts now, and the occurrences counted since the last line are
     * returned.
     */
    public synchronized long startLine(long now) {
        if (within(now)) {
            unlogged++;
            return -1;
        }
        logged = true;
        nextLineAt = now + intervalNanos;
        long skipped = unlogged;
        unlogged = 0;
        return skipped;
    }

    /** Whether a line was written less than an interval before {@code now}: one now would only be counted. */
    public synchronized boolean within(long now) {
        return logged && now - nextLineAt < 0;
    }

    /** Occurrences counted since the last line, not logged yet. */
    public synchronized long unlogged() {
        return unlogged;
    }
}
