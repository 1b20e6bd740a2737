package io.picotunnel.server.monitor;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The traffic of one tunnel or service since it was created: bytes from visitors ({@code in}) and to them
 * ({@code out}), connections open now and in all, and for http services the responses by status class and the
 * streams to the target opened and reused. A service's counters add to its tunnel's as well (not those of streams).
 * Cheap to update from any event loop.
 */
public final class TrafficCounters {

    /** For components that are not counted. */
    public static final TrafficCounters NONE = new TrafficCounters(null);

    private final TrafficCounters tunnel;
    private volatile java.util.function.LongConsumer durations = nanos -> { };
    final LongAdder bytesIn = new LongAdder();
    final LongAdder bytesOut = new LongAdder();
    final LongAdder totalConnections = new LongAdder();
    final AtomicLong activeConnections = new AtomicLong();
    /** Connections of a tcp or passthrough service its access rules refused, by {@link Refusal}; kept in memory only. */
    final LongAdder[] refused = {new LongAdder(), new LongAdder()};
    /** Streams to an http service's target: opened for a request, or taken idle from the keep-alive pool; in memory only. */
    final LongAdder upstreamsOpened = new LongAdder();
    final LongAdder upstreamsReused = new LongAdder();
    /** Responses by status class: index 0 for 1xx ... 4 for 5xx. */
    final LongAdder[] responses = {new LongAdder(), new LongAdder(), new LongAdder(), new LongAdder(), new LongAdder()};

    TrafficCounters(TrafficCounters tunnel) {
        this.tunnel = tunnel;
    }

    private boolean counted() {
        return this != NONE;
    }

    /** Bytes read from a visitor. */
    public void received(long bytes) {
        if (counted()) {
            bytesIn.add(bytes);
            if (tunnel != null) {
                tunnel.received(bytes);
            }
        }
    }

    /** Bytes written to a visitor. */
    public void sent(long bytes) {
        if (counted()) {
            bytesOut.add(bytes);
            if (tunnel != null) {
                tunnel.sent(bytes);
            }
        }
    }

    /** A visitor's connection (tcp) or request (http) began. */
    public void opened() {
        if (counted()) {
            totalConnections.increment();
            activeConnections.incrementAndGet();
            if (tunnel != null) {
                tunnel.opened();
            }
        }
    }

    /** ... and ended: exactly once for each {@link #opened()}. */
    public void closed() {
        if (counted()) {
            activeConnections.decrementAndGet();
            if (tunnel != null) {
                tunnel.closed();
            }
        }
    }

    /** Why a connection of a tcp or passthrough service was refused before it reached the tunnel. */
    public enum Refusal {
        IP_RULES("ip_rules"), RATE_LIMIT("rate_limit");

        private final String label;

        Refusal(String label) {
            this.label = label;
        }

        /** The value of the metric's {@code reason} label. */
        public String label() {
            return label;
        }
    }

    /** A visitor's connection was refused by the service's {@code ip_allow}/{@code ip_deny} or {@code rate_limit}. */
    public void refused(Refusal why) {
        if (counted()) {
            refused[why.ordinal()].increment();
        }
    }

    public long refusals(Refusal why) {
        return refused[why.ordinal()].sum();
    }

    /** Where the durations of http requests go (the metrics' histogram). */
    void onDuration(java.util.function.LongConsumer sink) {
        this.durations = sink;
    }

    /** An http request took {@code nanos} from its head to the end of its response. */
    public void requestTook(long nanos) {
        if (counted()) {
            durations.accept(nanos);
        }
    }

    /**
     * An http request the proxy answered itself, with no exchange with the target (an access check's 401, 403, 429,
     * redirect or 503, or the 503 of an upload ended while its check ran): one request, begun and ended, with its
     * response's {@code status} and its duration, {@code nanos} from its head to the answer. A response counted
     * without its request would let a service's 5xx exceed its requests.
     */
    public void answeredByProxy(int status, long nanos) {
        opened();
        responded(status);
        requestTook(nanos);
        closed();
    }

    /**
     * An http request whose visitor left before any answer, while its access checks ran: one request, begun and ended,
     * with no response, as an exchange the visitor cut short counts; {@code nanos} from its head to the leaving.
     */
    public void leftUnanswered(long nanos) {
        opened();
        requestTook(nanos);
        closed();
    }

    /** The status of a response a visitor got (from the target, or one of the proxy's own error pages). */
    public void responded(int status) {
        if (counted() && status >= 100 && status < 600) {
            responses[status / 100 - 1].increment();
            if (tunnel != null) {
                tunnel.responded(status);
            }
        }
    }

    /** A request of an http service got a new stream to the target (none idle, or the retry after a reused one failed). */
    public void upstreamOpened() {
        if (counted()) {
            upstreamsOpened.increment();
        }
    }

    /** A request of an http service got an idle stream from the keep-alive pool. */
    public void upstreamReused() {
        if (counted()) {
            upstreamsReused.increment();
        }
    }

    public long upstreamsOpened() {
        return upstreamsOpened.sum();
    }

    public long upstreamsReused() {
        return upstreamsReused.sum();
    }

    public long bytesIn() {
        return bytesIn.sum();
    }

    public long bytesOut() {
        return bytesOut.sum();
    }

    public long activeConnections() {
        return activeConnections.get();
    }

    public long totalConnections() {
        return totalConnections.sum();
    }

    /** Responses with a status of class {@code hundreds} (1 to 5). */
    public long responses(int hundreds) {
        return responses[hundreds - 1].sum();
    }
}
