package io.picotunnel.server.net;

import io.picotunnel.protocol.config.Durations;
import org.slf4j.Logger;

import java.time.Duration;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * A {@link RefusalLog} per key (a tunnel; a service and a cause): a flood of refusals for one key does not hold back
 * the line of another in the same interval, and a line's count of those not logged is of its own key. At most
 * {@code maxKeys} keys are kept, so keys that come and go (tunnels and services deleted) hold no memory. A key
 * within its interval is never dropped, else refusing more keys in turn than are kept would write a line for each;
 * a new key beyond the bound takes the place of a tracked key whose interval is over, and only when none is, shares
 * one overflow log with every other such key: at most one line per interval for all of them, saying how many
 * refusals of how many keys it stands for. So the log writes at most {@code maxKeys + 1} lines per interval however
 * many keys are refused. A dropped key's count of refusals not logged is not lost: the next line of any key adds it
 * up, with how many keys it came from. Thread-safe.
 */
public final class KeyedRefusalLog {

    /** Keys kept by default: far more than the tunnels or services refused within one interval on a sane server. */
    public static final int MAX_KEYS = 1024;

    /** What the lines count, as {@link #refused} and {@link #failed} log them. */
    private record Noun(String one, String many) {
        static final Noun REFUSAL = new Noun("refusal", "refusals");
        static final Noun FAILURE = new Noun("failure", "failures");

        String count(long n) {
            return n + " " + (n == 1 ? one : many);
        }
    }

    private final Logger log;
    private final Duration interval;
    private final int maxKeys;
    private final LongSupplier nanoTime;
    /**
     * In order of their last line, so of the end of their interval (all are as long): the first is the one to drop,
     * and if its interval is not over, no other's is. Guarded by itself, as is everything below.
     */
    private final Map<Object, RefusalLog> logs = new LinkedHashMap<>();
    private final RefusalLog overflow;
    /** Keys of the overflow's refusals since its last line, at most maxKeys of them; whether there were more. */
    private final Set<Object> overflowKeys = new HashSet<>();
    private boolean overflowKeysBeyond;
    /** Refusals not logged of keys dropped since the last line, and how many keys they were of. */
    private long droppedUnlogged;
    private long droppedKeys;

    public KeyedRefusalLog(Logger log, Duration interval, int maxKeys) {
        this(log, interval, maxKeys, System::nanoTime);
    }

    public KeyedRefusalLog(Logger log) {
        this(log, RefusalLog.DEFAULT_INTERVAL, MAX_KEYS);
    }

    /** With the clock read for the intervals ({@link System#nanoTime} but in tests). */
    KeyedRefusalLog(Logger log, Duration interval, int maxKeys, LongSupplier nanoTime) {
        this.log = log;
        this.interval = interval;
        this.maxKeys = maxKeys;
        this.nanoTime = nanoTime;
        this.overflow = new RefusalLog(log, interval, nanoTime);
    }

    /**
     * One refusal for {@code key}, as {@link RefusalLog#refused}: logged unless {@code key} had a line this interval,
     * or, for a key beyond the bound, unless a key beyond the bound had one.
     */
    public void refused(Object key, boolean warn, String message) {
        refused(key, warn, () -> message);
    }

    /**
     * As {@link #refused(Object, boolean, String)}, {@code message} built only for a line that is written: a refusal
     * only counted, as most of a flood's are, builds none.
     */
    public void refused(Object key, boolean warn, Supplier<String> message) {
        String line = lineDue(key, message, Noun.REFUSAL);
        if (line == null) {
            return;
        }
        if (warn) {
            log.warn(line);
        } else {
            log.info(line);
        }
    }

    /**
     * A failure of our own of kind {@code key}, as {@link RefusalLog#failed}: at WARN with {@code cause}'s stack trace
     * unless a failure of that kind had a line this interval (or, beyond the bound, one of any kind beyond it).
     */
    public void failed(Object key, Supplier<String> message, Throwable cause) {
        String line = lineDue(key, message, Noun.FAILURE);
        if (line != null) {
            log.warn(line, cause);
        }
    }

    /** The line for one refusal (or failure) of {@code key}, or null when it is only counted. */
    private String lineDue(Object key, Supplier<String> message, Noun noun) {
        synchronized (logs) {
            long now = nanoTime.getAsLong();
            RefusalLog keyed = logs.get(key);
            if (keyed == null && makeRoom(now)) {
                keyed = new RefusalLog(log, interval, nanoTime);
                logs.put(key, keyed);
            }
            return keyed != null ? keyedLine(key, keyed, message, now, noun)
                    : overflowLine(key, message, now, noun);
        }
    }

    /** The line of a tracked key's refusal, or null when it is only counted. */
    private String keyedLine(Object key, RefusalLog keyed, Supplier<String> message, long now, Noun noun) {
        long skipped = keyed.startLine(now);
        if (skipped < 0) {
            return null;
        }
        logs.remove(key);
        logs.put(key, keyed); // its interval now ends last
        return keyed.withCount(message.get(), skipped) + takeDropped(noun);
    }

    /** The line of a refusal beyond the tracked keys, or null when it is only counted. */
    private String overflowLine(Object key, Supplier<String> message, long now, Noun noun) {
        long skipped = overflow.startLine(now);
        if (overflowKeys.size() < maxKeys) {
            overflowKeys.add(key);
        } else if (!overflowKeys.contains(key)) {
            overflowKeysBeyond = true;
        }
        if (skipped < 0) {
            return null;
        }
        String line = message.get() + " (beyond the " + maxKeys + " tracked at once: those beyond share one line per "
                + Durations.format(interval);
        if (skipped > 0) {
            String keys = (overflowKeysBeyond ? "more than " : "") + overflowKeys.size();
            line += "; this line stands for " + noun.count(skipped + 1) + " of " + keys
                    + " of them since the last such line";
        }
        overflowKeys.clear();
        overflowKeysBeyond = false;
        return line + ")" + takeDropped(noun);
    }

    /** Whether there is room for one more key, dropping the one whose interval ended first if it is over. */
    private boolean makeRoom(long now) {
        if (logs.size() < maxKeys) {
            return true;
        }
        if (logs.isEmpty()) {
            return false;
        }
        Iterator<RefusalLog> first = logs.values().iterator();
        RefusalLog dropped = first.next();
        if (dropped.within(now)) {
            return false;
        }
        first.remove();
        long unlogged = dropped.unlogged();
        if (unlogged > 0) {
            droppedUnlogged += unlogged;
            droppedKeys++;
        }
        return true;
    }

    /** What a line adds for the dropped keys' refusals not logged, counted from then on in no other line. */
    private String takeDropped(Noun noun) {
        long unlogged = droppedUnlogged;
        long keys = droppedKeys;
        droppedUnlogged = 0;
        droppedKeys = 0;
        return unlogged == 0 ? "" : " (and " + noun.count(unlogged) + " not logged of " + keys + (keys == 1 ? " other no longer tracked" : " others no longer tracked")
                + ": at most " + maxKeys + " are tracked at once)";
    }

    /** Keys kept now. */
    int keys() {
        synchronized (logs) {
            return logs.size();
        }
    }
}
