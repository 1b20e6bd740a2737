package io.picotunnel.server.auth;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * OIDC sign-ins on their way through the provider, by {@code state}. Each is taken once (a replayed callback
 * finds nothing), lives at most {@link #TTL}, and at most {@link #MAX_PENDING} wait at once.
 */
final class PendingLogins {

    /** What the callback needs to finish one sign-in. */
    record Pending(String nonce, String codeVerifier, String returnTo, Instant startedAt) {
    }

    static final Duration TTL = Duration.ofMinutes(10);
    static final int MAX_PENDING = 10_000;

    private final Map<String, Pending> byState = new LinkedHashMap<>();
    private final Clock clock;

    PendingLogins(Clock clock) {
        this.clock = clock;
    }

    synchronized void put(String state, String nonce, String codeVerifier, String returnTo) {
        dropExpired();
        if (byState.size() >= MAX_PENDING) {
            Iterator<String> oldest = byState.keySet().iterator();
            oldest.next();
            oldest.remove();
        }
        byState.put(state, new Pending(nonce, codeVerifier, returnTo, clock.instant()));
    }

    /** Removes and returns the sign-in with this state, if it is there and not expired. */
    synchronized Optional<Pending> take(String state) {
        dropExpired();
        return Optional.ofNullable(state == null ? null : byState.remove(state));
    }

    private void dropExpired() {
        Instant oldestAllowed = clock.instant().minus(TTL);
        byState.values().removeIf(p -> p.startedAt().isBefore(oldestAllowed));
    }
}
