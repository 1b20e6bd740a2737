package io.picotunnel.client.tunnel;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Says which target failures to log: the first for a target in each {@link #EVERY}, with how many were left out
 * since the last line about it, and at most {@link #MAX_LINES} lines in a minute whatever the targets. A target
 * that is down refuses every connection of a busy service, one warning per visitor otherwise, enough to fill a disk
 * (Docker keeps a container's output without limit by default); a server naming a new target in every stream
 * would get past a limit per target alone.
 */
final class TargetFailureLog {

    private static final Logger LOG = LoggerFactory.getLogger(TargetDialer.class);

    static final Duration EVERY = Duration.ofMinutes(1);
    /** Targets remembered at most; past it the one whose failure came longest ago is forgotten. */
    static final int MAX_TARGETS = 1024;
    /** Lines about target failures in one minute at most, all targets together. */
    static final int MAX_LINES = 60;

    private final LongSupplier nanoClock;
    private final Consumer<String> lines;
    /** Per target: when its last line was logged, and how many of its failures were not logged since. */
    private final Map<String, long[]> targets = new LinkedHashMap<>(16, 0.75f, true);
    /** When the current minute of {@link #MAX_LINES} began, and how many lines it had. */
    private long minuteStart;
    private int linesThisMinute;
    /** Failures not logged because the minute had its {@link #MAX_LINES} already. */
    private long overCap;

    TargetFailureLog() {
        this(System::nanoTime, LOG::warn);
    }

    /** @param lines where the lines about failures left out for {@link #MAX_LINES} go */
    TargetFailureLog(LongSupplier nanoClock, Consumer<String> lines) {
        this.nanoClock = nanoClock;
        this.lines = lines;
        this.minuteStart = nanoClock.getAsLong() - EVERY.toNanos();
    }

    /**
     * A failure of {@code target}: null when it is not to be logged, else the end of its log line (empty, or how
     * many of its failures were not logged since the last line about it).
     */
    synchronized String admit(String target) {
        long now = nanoClock.getAsLong();
        if (now - minuteStart >= EVERY.toNanos()) {
            if (overCap > 0) {
                lines.accept(overCap + (overCap == 1 ? " more target failure was" : " more target failures were")
                        + " not logged since the line saying " + MAX_LINES + " came within a minute");
            }
            minuteStart = now;
            linesThisMinute = 0;
            overCap = 0;
        }
        long[] entry = targets.get(target);
        if (entry != null && now - entry[0] < EVERY.toNanos()) {
            entry[1]++;
            return null;
        }
        if (linesThisMinute >= MAX_LINES) {
            if (overCap++ == 0) {
                lines.accept(MAX_LINES + " target failures logged within a minute: the next ones are counted, not"
                        + " logged, until the minute is over");
            }
            if (entry != null) {
                entry[1]++;
            }
            return null;
        }
        linesThisMinute++;
        long left = entry == null ? 0 : entry[1];
        targets.put(target, new long[] {now, 0});
        if (targets.size() > MAX_TARGETS) {
            // In access order: the first is the target whose failure came longest ago.
            Iterator<long[]> eldest = targets.values().iterator();
            eldest.next();
            eldest.remove();
        }
        if (left == 0) {
            return "";
        }
        return " (" + left + (left == 1 ? " more failure of this target was" : " more failures of this target were")
                + " not logged since the last line about it)";
    }

    /** How many targets are remembered, for tests. */
    synchronized int targetsRemembered() {
        return targets.size();
    }
}
