package io.picotunnel.server.auth;

import io.picotunnel.server.net.ClientBlock;

import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * OIDC sign-ins on their way through the provider, by {@code state}: the UI's ({@link ManagementAuth}) and the
 * services' single sign-on ({@code access.ServiceSignIn}) each keep theirs in one of these. Each is taken once (a
 * replayed callback finds nothing), only by the browser that started it (the hash of the random value in the
 * sign-in cookie named after its state, {@link #cookieName}, must match), and lives at most {@link #TTL}. An address ({@link ClientBlock}: IPv6 by its /64)
 * may have at most {@code maxPerAddress} waiting (its oldest goes when it starts another), so one address cannot
 * push out anybody else's; when {@code maxTotal} wait in all, new sign-ins are refused until some finish or expire.
 *
 * @param <T> where the sign-in leads once it finishes (the UI's return path; a service and the page to go back to)
 */
public final class PendingLogins<T> {

    /** What the callback needs to finish one sign-in. */
    public record Pending<T>(T destination, String nonce, String codeVerifier, Instant startedAt, String address,
            byte[] browserHash) {
    }

    /** Why {@link #take} found no sign-in to finish. */
    public enum Refusal { UNKNOWN, OTHER_BROWSER }

    /**
     * The outcome of {@link #take}: the sign-in, or why there is none. {@code otherBrowsersDestination} is where a
     * sign-in refused as {@link Refusal#OTHER_BROWSER} would have led (else null): only to say why, never to finish it.
     */
    public record Result<T>(Optional<Pending<T>> pending, Refusal refusal, T otherBrowsersDestination) {
    }

    public static final Duration TTL = Duration.ofMinutes(10);
    public static final int MAX_PENDING = 10_000;
    public static final int MAX_PER_ADDRESS = 10;
    private static final Pattern BROWSER_KEY = Pattern.compile("[0-9a-f]{64}");
    /** A state as {@link OidcProvider#start} makes them (base64url), fit for a cookie's name. */
    private static final Pattern STATE = Pattern.compile("[A-Za-z0-9_-]{16,128}");

    private final Map<String, Pending<T>> byState = new LinkedHashMap<>();
    private final Map<String, Deque<String>> statesByAddress = new HashMap<>();
    private final InstantSource clock;
    private final int maxPerAddress;
    private final int maxTotal;

    public PendingLogins(InstantSource clock, int maxPerAddress, int maxTotal) {
        this.clock = clock;
        this.maxPerAddress = maxPerAddress;
        this.maxTotal = maxTotal;
    }

    /**
     * The key a browser's cookie should hold: the one it has, when well formed (so sign-ins started in two tabs both
     * finish), else a new random one.
     */
    public static String browserKey(String cookie) {
        return isBrowserKey(cookie) ? cookie : Secrets.newToken();
    }

    /** Whether a cookie holds a well-formed browser key (as {@link Secrets#newToken} makes them). */
    public static boolean isBrowserKey(String cookie) {
        return cookie != null && BROWSER_KEY.matcher(cookie).matches();
    }

    /**
     * The name of the cookie that ties the sign-in with {@code state} to its browser: {@code base-state}, one per
     * sign-in, so the callback of one tab clears its own and never the cookie of another tab's sign-in, however the
     * browser orders the answers. Null for a state none of ours has (nothing to read, and none to echo in a header).
     */
    public static String cookieName(String base, String state) {
        return state != null && STATE.matcher(state).matches() ? base + "-" + state : null;
    }

    /**
     * The states of the sign-in cookies named {@code name-state} ({@link #cookieName}, {@code name} as the request
     * names it) in the Cookie header {@code cookieHeader} whose sign-in no longer waits here (pushed out, expired, or
     * left at the provider): cleared when the browser starts another, they do not pile up in the browser.
     */
    public synchronized List<String> finishedStates(String cookieHeader, String name) {
        dropExpired();
        List<String> finished = new ArrayList<>();
        for (String part : Cookies.parts(cookieHeader)) {
            String cookie = Cookies.name(part);
            if (cookie.startsWith(name + "-")) {
                String state = cookie.substring(name.length() + 1);
                if (STATE.matcher(state).matches() && !byState.containsKey(state)) {
                    finished.add(state);
                }
            }
        }
        return finished;
    }

    /**
     * Keeps a sign-in started from {@code address} by the browser holding {@code browserKey}; false when
     * {@code maxTotal} sign-ins are waiting already.
     */
    public synchronized boolean put(OidcProvider.AuthorizationStart start, T destination, String address, String browserKey) {
        dropExpired();
        String addressKey = ClientBlock.of(address);
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
        byState.put(start.state(), new Pending<>(destination, start.nonce(), start.codeVerifier(), clock.instant(),
                addressKey, Secrets.sha256(browserKey)));
        own.addLast(start.state());
        return true;
    }

    /**
     * Removes the sign-in with this state and returns it if it is there, not expired, and was started by the
     * browser that presents {@code browserKey}; else says why not. A state shown by another browser is removed too:
     * it was meant for one sign-in only.
     */
    public synchronized Result<T> take(String state, String browserKey) {
        dropExpired();
        Pending<T> pending = state == null ? null : byState.remove(state);
        if (pending != null) {
            forget(pending.address(), state);
        }
        if (pending == null) {
            return new Result<>(Optional.empty(), Refusal.UNKNOWN, null);
        }
        if (browserKey == null || !MessageDigest.isEqual(pending.browserHash(), Secrets.sha256(browserKey))) {
            return new Result<>(Optional.empty(), Refusal.OTHER_BROWSER, pending.destination());
        }
        return new Result<>(Optional.of(pending), null, null);
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
        Iterator<Map.Entry<String, Pending<T>>> entries = byState.entrySet().iterator();
        while (entries.hasNext()) {
            Map.Entry<String, Pending<T>> oldest = entries.next();
            if (!oldest.getValue().startedAt().isBefore(oldestAllowed)) {
                return; // in order of start: the rest are younger
            }
            entries.remove();
            forget(oldest.getValue().address(), oldest.getKey());
        }
    }
}
