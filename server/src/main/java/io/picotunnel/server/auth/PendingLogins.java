package io.picotunnel.server.auth;

import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * OIDC sign-ins on their way through the provider, by {@code state}. Each is taken once (a replayed callback
 * finds nothing), only by the browser that started it (the hash of the random value in its state cookie must
 * match), and lives at most {@link #TTL}. An address may have at most {@code maxPerAddress} waiting (its
 * oldest goes when it starts another), so one address cannot push out anybody else's; when {@code maxTotal}
 * wait in all, new sign-ins are refused until some finish or expire.
 */
final class PendingLogins {

    /** What the callback needs to finish one sign-in. */
    record Pending(String nonce, String codeVerifier, String returnTo, Instant startedAt, String address, byte[] browserHash) {
    }

    /** The outcome of {@link #take}: the sign-in, or why there is none. */
    enum Refusal { UNKNOWN, OTHER_BROWSER }

    static final Duration TTL = Duration.ofMinutes(10);
    static final int MAX_PENDING = 10_000;
    static final int MAX_PER_ADDRESS = 10;

    private final Map<String, Pending> byState = new LinkedHashMap<>();
    private final Map<String, Deque<String>> statesByAddress = new HashMap<>();
    private final Clock clock;
    private final int maxPerAddress;
    private final int maxTotal;

    PendingLogins(Clock clock, int maxPerAddress, int maxTotal) {
        this.clock = clock;
        this.maxPerAddress = maxPerAddress;
        this.maxTotal = maxTotal;
    }

    /**
     * Keeps a sign-in started from {@code address} by the browser holding {@code browserKey}; false when
     * {@code maxTotal} sign-ins are waiting already.
     */
    synchronized boolean put(String state, String nonce, String codeVerifier, String returnTo, String address, String browserKey) {
        dropExpired();
        String addressKey = FailedLogins.key(address);
        Deque<String> own = statesByAddress.computeIfAbsent(addressKey, a -> new ArrayDeque<>());
        while (own.size() >= maxPerAddress) {
            byState.remove(own.removeFirst());
        }
        if (byState.size() >= maxTotal) {
            if (own.isEmpty()) {
                statesByAddress.remove(addressKey);
            }
            return false;
        }
        byState.put(state, new Pending(nonce, codeVerifier, returnTo, clock.instant(), addressKey, Secrets.sha256(browserKey)));
        own.addLast(state);
        return true;
    }

    /**
     * Removes the sign-in with this state and returns it if it is there, not expired, and was started by the
     * browser that presents {@code browserKey}; else says why not. A state shown by another browser is removed too:
     * it was meant for one sign-in only.
     */
    synchronized Result take(String state, String browserKey) {
        dropExpired();
        Pending pending = state == null ? null : byState.remove(state);
        if (pending == null) {
            return new Result(Optional.empty(), Refusal.UNKNOWN);
        }
        forget(pending.address(), state);
        if (browserKey == null || !MessageDigest.isEqual(pending.browserHash(), Secrets.sha256(browserKey))) {
            return new Result(Optional.empty(), Refusal.OTHER_BROWSER);
        }
        return new Result(Optional.of(pending), null);
    }

    record Result(Optional<Pending> pending, Refusal refusal) {
    }

    synchronized int size() {
        return byState.size();
    }

    private void forget(String addressKey, String state) {
        Deque<String> own = statesByAddress.get(addressKey);
        if (own != null) {
            own.remove(state);
            if (own.isEmpty()) {
                statesByAddress.remove(addressKey);
            }
        }
    }

    private void dropExpired() {
        Instant oldestAllowed = clock.instant().minus(TTL);
        Iterator<Map.Entry<String, Pending>> entries = byState.entrySet().iterator();
        while (entries.hasNext()) {
            Map.Entry<String, Pending> oldest = entries.next();
            if (!oldest.getValue().startedAt().isBefore(oldestAllowed)) {
                return; // in order of start: the rest are younger
            }
            entries.remove();
            forget(oldest.getValue().address(), oldest.getKey());
        }
    }
}
