package io.picotunnel.protocol.yamux;

import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import io.picotunnel.protocol.config.Durations;

import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/** Pings we sent and wait to see answered, by opaque value (session.go's {@code pings}). */
final class PendingPings {

    private record Pending(Promise<Duration> promise, long sentNanos, ScheduledFuture<?> timeout) {
    }

    private final Map<Long, Pending> pending = new HashMap<>();
    /**
     * Starts at random: a peer that does not read our pings cannot answer them blind (0, 1, 2, ...) and so keep
     * a session alive whose keepalive should time out.
     */
    private long nextOpaque = ThreadLocalRandom.current().nextLong() & YamuxSpec.MAX_LENGTH_FIELD;

    long nextOpaque() {
        long opaque = nextOpaque;
        nextOpaque = (nextOpaque + 1) & YamuxSpec.MAX_LENGTH_FIELD;
        return opaque;
    }

    void add(long opaque, Promise<Duration> promise, long sentNanos, ScheduledFuture<?> timeout) {
        pending.put(opaque, new Pending(promise, sentNanos, timeout));
    }

    /** The peer answered; completes the matching ping with its round-trip time. */
    void answered(long opaque, long nowNanos) {
        Pending p = pending.remove(opaque);
        if (p != null) {
            p.timeout().cancel(false);
            p.promise().trySuccess(Duration.ofNanos(nowNanos - p.sentNanos()));
        }
    }

    void timedOut(long opaque, Duration after) {
        Pending p = pending.remove(opaque);
        if (p != null) {
            p.promise().tryFailure(new IOException("no answer to ping within " + Durations.format(after)));
        }
    }

    /** The caller gave up on the ping: no answer or timeout completes it any more. */
    void forget(long opaque) {
        Pending p = pending.remove(opaque);
        if (p != null) {
            p.timeout().cancel(false);
        }
    }

    int size() {
        return pending.size();
    }

    void failAll(String reason) {
        for (Pending p : pending.values()) {
            p.timeout().cancel(false);
            p.promise().tryFailure(new IOException(reason));
        }
        pending.clear();
    }
}
