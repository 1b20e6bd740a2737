package io.picotunnel.server.net;

import org.slf4j.Logger;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A {@link RefusalLog} per key (a tunnel; a service and a cause): a flood of refusals for one key does not hold back
 * the line of another in the same interval, and a line's count of those not logged is of its own key. At most
 * {@code maxKeys} keys are kept, the least recently refused dropped first with its count, so keys that come and go
 * (tunnels and services deleted) hold no memory; a dropped key refused again starts a new interval. Thread-safe.
 */
public final class KeyedRefusalLog {

    /** Keys kept by default: far more than the tunnels or services refused within one interval on a sane server. */
    public static final int MAX_KEYS = 1024;

    private final Logger log;
    private final Duration interval;
    private final Map<Object, RefusalLog> logs;

    public KeyedRefusalLog(Logger log, Duration interval, int maxKeys) {
        this.log = log;
        this.interval = interval;
        this.logs = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Object, RefusalLog> eldest) {
                return size() > maxKeys;
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
        keyed.refused(warn, message);
    }

    /** Keys kept now. */
    int keys() {
        synchronized (logs) {
            return logs.size();
        }
    }
}
