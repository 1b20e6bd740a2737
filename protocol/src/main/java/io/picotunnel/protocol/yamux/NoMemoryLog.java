package io.picotunnel.protocol.yamux;

import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.log.OncePerIntervalLog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The WARNs for Data frames that found no memory to wait in for their readers and for writes that found none to be
 * sent in, each at most once per interval for the whole process ({@link OncePerIntervalLog}): direct memory runs out
 * for every session at once, and each line builds a memory report. The first of an interval is logged with the
 * number of the others since the last line.
 */
final class NoMemoryLog {

    static final NoMemoryLog PROCESS = new NoMemoryLog(LoggerFactory.getLogger(YamuxSession.class),
            YamuxSession.BUFFER_LIMIT_LOG_INTERVAL, System::nanoTime);

    private final OncePerIntervalLog lines;
    private final OncePerIntervalLog writeLines;

    NoMemoryLog(Logger log, Duration interval, LongSupplier nanoTime) {
        this.lines = new OncePerIntervalLog(log, interval, nanoTime);
        this.writeLines = new OncePerIntervalLog(log, interval, nanoTime);
    }

    /** One frame that found no memory: {@code line} built and logged if none was this interval, else counted. */
    void frameFoundNoMemory(Supplier<String> line) {
        lines.warn(before -> line.get()
                + (before == 0 ? "" : " (" + before + " more Data frames found no memory in this process since the"
                        + " last such line)")
                + "; logged at most once per " + Durations.format(lines.interval()) + " for the process");
    }

    /** One stream reset as its write found no memory to be sent in: as {@link #frameFoundNoMemory}, with the trace. */
    void writeFoundNoMemory(Supplier<String> line, OutOfMemoryError cause) {
        writeLines.warn(before -> line.get()
                + (before == 0 ? "" : " (" + before + " more streams were reset in this process for the same since the"
                        + " last such line)")
                + "; logged at most once per " + Durations.format(writeLines.interval()) + " for the process", cause);
    }
}
