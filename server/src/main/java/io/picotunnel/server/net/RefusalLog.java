package io.picotunnel.server.net;

import io.picotunnel.protocol.config.Durations;
import org.slf4j.Logger;

import java.time.Duration;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Logs refusals that come in floods (connections over a limit, handshakes for unknown names) at most once per
 * interval: the first refusal of an interval is logged with the number of the others since the last line;
 * the rest of the interval only counts. Thread-safe.
 */
public final class RefusalLog {

    /** The interval used by the server's listeners. */
    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(60);

    private final Logger log;
    private final long intervalNanos;
    private final LongSupplier nanoTime;
    private long nextLineAt;
    private boolean logged;
    private long unlogged;

    public RefusalLog(Logger log, Duration interval) {
        this(log, interval, System::nanoTime);
    }

    /** With the clock read for the interval ({@link System#nanoTime} but in tests). */
    public RefusalLog(Logger log, Duration interval, LongSupplier nanoTime) {
        this.log = log;
        this.intervalNanos = interval.toNanos();
        this.nanoTime = nanoTime;
    }

    public RefusalLog(Logger log) {
        this(log, DEFAULT_INTERVAL);
    }

    /**
     * One refusal: logged at {@code warn} or info level when no line was written in this interval, else counted.
     * {@code message} must already be safe to log ({@link io.picotunnel.protocol.text.ControlCharacters#bounded}).
     */
    public void refused(boolean warn, String message) {
        refused(warn, () -> message);
    }

    /**
     * As {@link #refused(boolean, String)}, {@code message} built only for a line that is written: a refusal only
     * counted, as most of a flood's are, builds none.
     */
    public void refused(boolean warn, Supplier<String> message) {
        long skipped = startLine(nanoTime.getAsLong());
        if (skipped < 0) {
            return;
        }
        String line = withCount(message.get(), skipped);
        if (warn) {
            log.warn(line);
        } else {
            log.info(line);
        }
    }

    /**
     * A failure of our own, at {@code warn} level with {@code cause}'s stack trace when no line was written in this
     * interval, else counted: one per connection would otherwise flood the log for as long as the bug lasts.
     */
    public void failed(Supplier<String> message, Throwable cause) {
        long skipped = startLine(nanoTime.getAsLong());
        if (skipped >= 0) {
            log.warn(withCount(message.get(), skipped), cause);
        }
    }

    /**
     * A refusal at {@code now}: -1 when a line was written less than an interval before, the refusal then only
     * counted; else a line is due, its interval starts now, and the refusals counted since the last line are returned.
     */
    synchronized long startLine(long now) {
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

    /** {@code message} with the count of the refusals not logged before it, when there are some. */
    String withCount(String message, long skipped) {
        return skipped == 0 ? message
                : message + " (" + skipped + " more like this not logged since the last such line; at most one line"
                + " per " + Durations.format(Duration.ofNanos(intervalNanos)) + ")";
    }

    /** Whether a line was written less than an interval before {@code now}: a refusal now would only be counted. */
    synchronized boolean within(long now) {
        return logged && now - nextLineAt < 0;
    }

    /** Refusals counted since the last line, not logged yet. */
    synchronized long unlogged() {
        return unlogged;
    }
}
