package io.picotunnel.server.net;

import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.log.OncePerIntervalLog;
import org.slf4j.Logger;

import java.time.Duration;
import java.util.function.LongFunction;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Logs refusals that come in floods (connections over a limit, handshakes for unknown names) at most once per
 * interval ({@link OncePerIntervalLog}): the first refusal of an interval is logged with the number of the others
 * since the last line; the rest of the interval only counts. Thread-safe.
 */
public final class RefusalLog {

    /** The interval used by the server's listeners. */
    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(60);

    private final OncePerIntervalLog lines;

    public RefusalLog(Logger log, Duration interval) {
        this(log, interval, System::nanoTime);
    }

    /** With the clock read for the interval ({@link System#nanoTime} but in tests). */
    public RefusalLog(Logger log, Duration interval, LongSupplier nanoTime) {
        this.lines = new OncePerIntervalLog(log, interval, nanoTime);
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
        LongFunction<String> line = skipped -> withCount(message.get(), skipped);
        if (warn) {
            lines.warn(line);
        } else {
            lines.info(line);
        }
    }

    /**
     * A failure of our own, at {@code warn} level with {@code cause}'s stack trace when no line was written in this
     * interval, else counted: one per connection would otherwise flood the log for as long as the bug lasts.
     */
    public void failed(Supplier<String> message, Throwable cause) {
        lines.warn(skipped -> withCount(message.get(), skipped), cause);
    }

    /** As {@link OncePerIntervalLog#startLine}: -1 when the refusal at {@code now} is only counted. */
    long startLine(long now) {
        return lines.startLine(now);
    }

    /** {@code message} with the count of the refusals not logged before it, when there are some. */
    String withCount(String message, long skipped) {
        return skipped == 0 ? message
                : message + " (" + skipped + " more like this not logged since the last such line; at most one line"
                + " per " + Durations.format(lines.interval()) + ")";
    }

    /** Whether a line was written less than an interval before {@code now}: a refusal now would only be counted. */
    boolean within(long now) {
        return lines.within(now);
    }

    /** Refusals counted since the last line, not logged yet. */
    long unlogged() {
        return lines.unlogged();
    }
}
