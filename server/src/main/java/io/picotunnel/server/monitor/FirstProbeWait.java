package io.picotunnel.server.monitor;

import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceListener;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A service is first probed one interval, at most {@link Monitor#MAX_FIRST_SERVICE_CHECK_AFTER}, after it was created,
 * re-enabled, or given another target: its target is often started along with the change, and a probe at the next
 * round, which may come at once, would find it still starting. Told of every change by the store.
 */
final class FirstProbeWait implements ServiceListener {

    private final Clock clock;
    /** When each service was last re-enabled or given another target; creation is its {@link Service#createdAt}. */
    private final Map<String, Instant> armedAt = new ConcurrentHashMap<>();

    FirstProbeWait(Clock clock) {
        this.clock = clock;
    }

    @Override
    public void onServiceChange(Service before, Service after) {
        if (after == null) {
            armedAt.remove(before.id());
        } else if (before != null && after.enabled()
                && (!before.enabled() || !Objects.equals(before.targetAddr(), after.targetAddr()))) {
            armedAt.put(after.id(), clock.instant());
        }
    }

    @Override
    public Staged stage(Service before, Service after) {
        // Nothing to refuse: the change counts once it is stored.
        return Staged.onceStored(() -> onServiceChange(before, after));
    }

    /** True while {@code service} waits for its first probe since it was created, re-enabled or given another target. */
    boolean waits(Service service, Duration wait, Instant now) {
        Instant armed = armedAt.get(service.id());
        if (armed != null && !isWithin(armed, wait, now)) {
            armedAt.remove(service.id(), armed);
        }
        return isWithin(service.createdAt(), wait, now) || armed != null && isWithin(armed, wait, now);
    }

    /** Less than {@code wait} before {@code now}; a time ahead of a clock set back since is not. */
    private static boolean isWithin(Instant since, Duration wait, Instant now) {
        Duration elapsed = Duration.between(since, now);
        return !elapsed.isNegative() && elapsed.compareTo(wait) < 0;
    }
}
