package io.picotunnel.server.net;

import org.slf4j.Logger;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A {@link RefusalLog} per key (a tunnel; a service and a cause): a flood of refusals for one key does not hold back
 * the line of another in the same interval, and a line's count of those not logged is of its own key. At most
 * {@code maxKeys} keys are kept, the least recently refused dropped first, so keys that come and go (tunnels and
 * services deleted) hold no memory; a dropped key refused again starts a new interval. A dropped key's count of
 * refusals not logged is not lost: the next line of any key adds it up, with how many keys it came from.
 * Thread-safe.
 */
public final class KeyedRefusalLog {

    /** Keys kept by default: far more than the tunnels or services refused within one interval on a sane server. */
    public static final int MAX_KEYS = 1024;

    private final Logger log;
    private final Duration interval;
    private final int maxKeys;
    private final Map<Object, RefusalLog> logs;
    /** Refusals not logged of keys dropped since the last line, and how many keys they were of; guarded by logs. */
    private long droppedUnlogged;
    private long droppedKeys;

    public KeyedRefusalLog(Logger log, Duration interval, int maxKeys) {
        this.log = log;
        this.interval = interval;
        this.maxKeys = maxKeys;
        this.logs = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Object, RefusalLog> eldest) {
                if (size() <= maxKeys) {
                    return false;
                }
                long unlogged = eldest.getValue().unlogged();
                if (unlogged > 0) {
                    droppedUnlogged += unlogged;
                    droppedKeys++;
                }
                return true;
            }
        };
    }

    public KeyedRefusalLog(Logger log) {
        this(log, RefusalLog.DEFAULT_INTERVAL, MAX_KEYS);
    }

    /** One refusal for {@code key}, as {@link RefusalLog#refused}: logged unless {@code key} had a line this interval. */
    public void refused(Object key, boolean warn, String message) {
        RefusalLog keyed;
        synchronized (logs) {
            keyed = logs.computeIfAbsent(key, k -> new RefusalLog(log, interval));
        }
        keyed.refused(warn, message, this::takeDropped);
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
