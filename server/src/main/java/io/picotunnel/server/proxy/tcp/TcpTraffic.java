package io.picotunnel.server.proxy.tcp;

import io.picotunnel.server.monitor.TrafficCounters;

import java.util.concurrent.atomic.LongAdder;

/**
 * Bytes moved by the connections of one tcp service since it started listening: read from the public side and
 * written back to it. Also passed on to the service's lasting {@link TrafficCounters} (with its connections).
 */
public final class TcpTraffic {

    private final LongAdder received = new LongAdder();
    private final LongAdder sent = new LongAdder();
    private final TrafficCounters counters;

    public TcpTraffic(TrafficCounters counters) {
        this.counters = counters;
    }

    TcpTraffic() {
        this(TrafficCounters.NONE);
    }

    void received(long bytes) {
        received.add(bytes);
        counters.received(bytes);
    }

    void sent(long bytes) {
        sent.add(bytes);
        counters.sent(bytes);
    }

    public void opened() {
        counters.opened();
    }

    public void closed() {
        counters.closed();
    }

    /** The service's lasting counters. */
    TrafficCounters counters() {
        return counters;
    }

    /** Bytes read from public connections (and handed to the tunnel). */
    public long receivedBytes() {
        return received.sum();
    }

    /** Bytes written to public connections (from the tunnel). */
    public long sentBytes() {
        return sent.sum();
    }
}
