package io.picotunnel.server.net;

import io.picotunnel.protocol.config.Durations;
import org.slf4j.Logger;

import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * A {@link RefusalLog} per key (a tunnel; a service and a cause): a flood of refusals for one key does not hold back
 * the line of another in the same interval, and a line's count of those not logged is of its own key. At most
 * {@code maxKeys} keys are kept, so keys that come and go (tunnels and services deleted) hold no memory. A key
 * within its interval is never dropped, else refusing more keys in turn than are kept would write a line for each;
 * a new key beyond the bound takes the place of the least recently refused one if that one's interval is over, and
 * otherwise shares one overflow log with every other such key: at most one line per interval for all of them,
 * counting the rest. So the log writes at most {@code maxKeys + 1} lines per interval however many keys are refused.
 * A dropped key's count of refusals not logged is not lost: the next line of any key adds it up, with how many keys
 * it came from. Thread-safe.
 */
public final class KeyedRefusalLog {

    /** Keys kept by default: far more than the tunnels or services refused within one interval on a sane server. */
    public static final int MAX_KEYS = 1024;

    private final Logger log;
    private final Duration interval;
    private final int maxKeys;
    private final LongSupplier nanoTime;
    /** In order of last refusal, least recent first; guarded by itself. */
    private final Map<Object, RefusalLog> logs = new LinkedHashMap<>(16, 0.75f, true);
    private final RefusalLog overflow;
    /** Refusals not logged of keys dropped since the last line, and how many keys they were of; guarded by logs. */
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
        RefusalLog keyed;
        synchronized (logs) {
            keyed = logs.get(key);
            if (keyed == null && makeRoom()) {
                keyed = new RefusalLog(log, interval, nanoTime);
                logs.put(key, keyed);
            }
        }
        if (keyed != null) {
            keyed.refused(warn, message, this::takeDropped);
        } else {
            overflow.refused(warn, message, () -> " (beyond the " + maxKeys + " tracked at once: those beyond share one line per "
                    + Durations.format(interval) + ")" + takeDropped());
        }
    }

    /** Whether there is room for one more key, dropping the least recently refused if its interval is over. */
    private boolean makeRoom() {
        if (logs.size() < maxKeys) {
            return true;
        }
        if (logs.isEmpty()) {
            return false;
        }
        Iterator<RefusalLog> eldest = logs.values().iterator();
        RefusalLog dropped = eldest.next();
        if (dropped.within(nanoTime.getAsLong())) {
            return false;
        }
        eldest.remove();
        long unlogged = dropped.unlogged();
        if (unlogged > 0) {
            droppedUnlogged += unlogged;
            droppedKeys++;
        }
        return true;
    }

    /** What a line adds for the dropped keys' refusals not logged, counted from then on in no other line. */
    private String takeDropped() {
        long unlogged;
        long keys;
        synchronized (logs) {
            unlogged = droppedUnlogged;
            keys = droppedKeys;
            droppedUnlogged = 0;
            droppedKeys = 0;
        }
        return unlogged == 0 ? "" : " (and " + unlogged + (unlogged == 1 ? " refusal" : " refusals")
                + " not logged of " + keys + (keys == 1 ? " other no longer tracked" : " others no longer tracked")
                + ": at most " + maxKeys + " are tracked at once)";
    }

    /** Keys kept now. */
    int keys() {
        synchronized (logs) {
            return logs.size();
        }
    }
}
