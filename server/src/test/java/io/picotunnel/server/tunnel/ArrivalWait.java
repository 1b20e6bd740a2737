package io.picotunnel.server.tunnel;

import java.time.Duration;

/** For tests in any package: how long a stream asked of a tunnel waits for a client under way. */
public final class ArrivalWait {

    private ArrivalWait() {
    }

    /** From now on, for the streams asked of {@code registry}'s tunnels. */
    public static void set(TunnelRegistry registry, Duration wait) {
        registry.arrivalWait = wait;
    }
}
