package io.picotunnel.protocol.yamux;

import io.picotunnel.protocol.config.Durations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The WARN for Data frames that found no memory to wait in for their readers, at most once per interval for the
 * whole process: direct memory runs out for every session at once, and each line builds a memory report. The first
 * frame of an interval is logged with the number of the others since the last line; the rest only count (as the
 * server's RefusalLog). Thread-safe: sessions run on many event loops.
 */
final class NoMemoryLog {

    static final NoMemoryLog PROCESS = new NoMemoryLog(LoggerFactory.getLogger(YamuxSession.class),
            YamuxSession.BUFFER_LIMIT_LOG_INTERVAL, System::nanoTime);

    private final Logger log;
    private final long intervalNanos;
    private final LongSupplier nanoTime;
    private boolean logged;
    private long loggedAt;
    private long unlogged;

    NoMemoryLog(Logger log, Duration interval, LongSupplier nanoTime) {
        this.log = log;
        this.intervalNanos = interval.toNanos();
        this.nanoTime = nanoTime;
    }

    /** One frame that found no memory: {@code line} built and logged if none was this interval, else counted. */
    void frameFoundNoMemory(Supplier<String> line) {
        long before = startLine(nanoTime.getAsLong());
        if (before < 0) {
            return;
        }
        String counted = before == 0 ? ""
                : " (" + before + " more Data frames found no memory in this process since the last such line)";
        log.warn("{}{}; logged at most once per {} for the process", line.get(), counted,
                Durations.format(Duration.ofNanos(intervalNanos)));
    }

    /** -1 when a line was written less than an interval before {@code now}; else the frames counted since it. */
    private synchronized long startLine(long now) {
        if (logged && now - loggedAt < intervalNanos) {
            unlogged++;
            return -1;
        }
        logged = true;
        loggedAt = now;
        long before = unlogged;
        unlogged = 0;
        return before;
    }
}
