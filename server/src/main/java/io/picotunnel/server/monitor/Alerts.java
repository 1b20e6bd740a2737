package io.picotunnel.server.monitor;

import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Decides when a change of state is worth telling: only once the new state held for {@code after} checks in a
 * row, so a flapping tunnel does not flood the webhooks. The first state seen of a subject is taken as it is,
 * without an alert; after a restart, the state confirmed before it (and a new state not yet confirmed, with its
 * count) is {@linkplain #restore restored}. Used by the monitor's one thread only.
 */
final class Alerts {

    /** A confirmed change of state: {@code since} is the first check in the new state. */
    record Alert(Subject subject, CheckStatus status, String error, Instant since) {
    }

    private static final class Tracker {
        CheckStatus confirmed;
        CheckStatus pending;
        int count;
        Instant since;
        String error;
    }

    private final int after;
    private final Consumer<Alert> sink;
    private final Map<Subject, Tracker> trackers = new HashMap<>();

    Alerts(int after, Consumer<Alert> sink) {
        if (after < 1) {
            throw new IllegalArgumentException("after must be at least 1");
        }
        this.after = after;
        this.sink = sink;
    }

    /** Takes {@code status} as the subject's state without an alert, if nothing is known of it yet. */
    void prime(Subject subject, CheckStatus status) {
        trackers.computeIfAbsent(subject, s -> new Tracker()).confirmed = status;
    }

    /**
     * Takes the state the alerts had reached before a restart: {@code confirmed}, and {@code pending} (may be null)
     * as the first of {@code count} checks in a row in another state, not yet confirmed.
     */
    void restore(Subject subject, CheckStatus confirmed, Check pending, long count) {
        Tracker tracker = trackers.computeIfAbsent(subject, s -> new Tracker());
        tracker.confirmed = confirmed;
        if (pending != null && pending.status() != confirmed && count > 0) {
            tracker.pending = pending.status();
            tracker.count = (int) Math.min(count, after - 1);
            tracker.since = pending.createdAt();
            tracker.error = pending.error();
        }
    }

    void observe(Check check) {
        Tracker tracker = trackers.computeIfAbsent(check.subject(), s -> new Tracker());
        if (tracker.confirmed == null) {
            tracker.confirmed = check.status();
            return;
        }
        if (check.status() == tracker.confirmed) {
            tracker.pending = null;
            tracker.count = 0;
            return;
        }
        if (check.status() != tracker.pending) {
            tracker.pending = check.status();
            tracker.count = 0;
            tracker.since = check.createdAt();
        }
        tracker.count++;
        tracker.error = check.error();
        if (tracker.count >= after) {
            tracker.confirmed = tracker.pending;
            tracker.pending = null;
            tracker.count = 0;
            sink.accept(new Alert(check.subject(), tracker.confirmed, tracker.error, tracker.since));
        }
    }

    /** Forgets subjects that no longer exist. */
    void retain(java.util.Set<Subject> existing) {
        trackers.keySet().retainAll(existing);
    }
}
