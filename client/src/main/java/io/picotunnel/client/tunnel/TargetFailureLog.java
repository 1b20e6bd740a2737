package io.picotunnel.client.tunnel;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Says which target failures to log: the first for a target in each {@link #EVERY}, with how many were left out
 * before it. A target that is down refuses every connection of a busy service, one warning per visitor otherwise,
 * enough to fill a disk (Docker keeps a container's output without limit by default).
 */
final class TargetFailureLog {

    static final Duration EVERY = Duration.ofMinutes(1);
    /** Targets remembered at most; past it they are forgotten, and each logs once more. */
    static final int MAX_TARGETS = 1024;

    private final LongSupplier nanoClock;
    private final Map<String, long[]> targets = new HashMap<>();

    TargetFailureLog() {
        this(System::nanoTime);
    }

    TargetFailureLog(LongSupplier nanoClock) {
        this.nanoClock = nanoClock;
    }

    /**
     * A failure of {@code target}: -1 when it is not to be logged, else how many of its failures were not logged
     * since the last one that was.
     */
    synchronized long admit(String target) {
        long now = nanoClock.getAsLong();
        long[] entry = targets.get(target);
        if (entry != null && now - entry[0] < EVERY.toNanos()) {
            entry[1]++;
            return -1;
        }
        if (entry == null && targets.size() >= MAX_TARGETS) {
            targets.clear();
        }
        long left = entry == null ? 0 : entry[1];
        targets.put(target, new long[] {now, 0});
        return left;
    }

    /** The end of a log line for {@link #admit}'s answer. */
    static String leftOut(long count) {
        return count > 0 ? " (" + count + " more failures of this target in the last minute were not logged)" : "";
    }
}
