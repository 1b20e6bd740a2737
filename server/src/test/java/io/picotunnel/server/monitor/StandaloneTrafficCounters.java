package io.picotunnel.server.monitor;

/** Counters of one service as {@link Traffic} keeps them, without a store or a tunnel: for tests elsewhere. */
public final class StandaloneTrafficCounters {

    private StandaloneTrafficCounters() {
    }

    public static TrafficCounters create() {
        return new TrafficCounters(null);
    }
}
