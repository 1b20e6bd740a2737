package io.picotunnel.server.access;

import io.picotunnel.server.auth.FailedLogins;
import io.picotunnel.server.auth.Secrets;
import io.picotunnel.server.net.LogValues;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * HTTP Basic authentication of {@code auth: basic} services. A bcrypt check takes tens of milliseconds, so it
 * runs on a small pool of its own, never on an event loop; credentials that passed are remembered for a while
 * (by a hash of the stored hash and the header, so a new password forgets them). Nothing here is logged with
 * the password. Wrong credentials count against the visitor's address ({@link FailedLogins}): after
 * {@link #FAILURES} of them it must wait, and its attempts are answered 429 without a check, except for
 * credentials that passed before (remembered), which cannot be a guess.
 */
final class BasicAuthGate implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(BasicAuthGate.class);
    static final long REMEMBER_NANOS = TimeUnit.MINUTES.toNanos(10);
    static final int MAX_REMEMBERED = 10_000;
    private static final int MAX_HEADER = 1024;
    /** Wrong passwords from one address: 5 free, then a wait from 1 s doubling to 5 min, forgotten after 15 min. */
    static final FailedLogins.Policy FAILURES = new FailedLogins.Policy(5, Duration.ofSeconds(1), Duration.ofMinutes(5),
            Duration.ofMinutes(15));

    private final ThreadPoolExecutor checks;
    private final LongSupplier nanoClock;
    private final FailedLogins failures;
    /** Passed credentials: digest of (hash, header) to when it stops counting. */
    private final LinkedHashMap<String, Long> passed = new LinkedHashMap<>(64, 0.75f, true);

    BasicAuthGate(LongSupplier nanoClock) {
        this.nanoClock = nanoClock;
        this.failures = new FailedLogins("password of an http service", FAILURES);
        this.checks = new ThreadPoolExecutor(2, 2, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(512), runnable -> {
            Thread thread = new Thread(runnable, "picotunnel-password-check");
            thread.setDaemon(true);
            return thread;
        });
        this.checks.allowCoreThreadTimeOut(true);
    }

    HttpVerdict check(ServiceAuth.Basic auth, String host, InetAddress visitor, String authorization) {
        String[] credentials = credentials(authorization);
        if (credentials == null) {
            return challenge(host, authorization == null
                    ? "This service needs a user name and password."
                    : "The credentials sent are not valid Basic credentials.");
        }
        String key = rememberKey(auth, authorization);
        if (remembered(key)) {
            return new HttpVerdict.Pass(credentials[0], null);
        }
        String address = visitor.getHostAddress();
        Duration wait = failures.retryAfter(address);
        if (!wait.isZero()) {
            long seconds = Math.max(1, (wait.toMillis() + 999) / 1000);
            return new HttpVerdict.Answer(429, "too_many_attempts", "Too many wrong passwords from your address: wait "
                    + seconds + (seconds == 1 ? " second" : " seconds") + ", then try again.",
                    Map.of("Retry-After", Long.toString(seconds)), List.of());
        }
        CompletableFuture<HttpVerdict> result = new CompletableFuture<>();
        try {
            checks.execute(() -> {
                // Both checks always run, so the time taken does not tell whether the user name was right.
                boolean userMatches = Secrets.matches(credentials[0], auth.username());
                boolean passwordMatches = PasswordHash.matches(credentials[1], auth.passwordHash());
                if (userMatches && passwordMatches) {
                    remember(key);
                    failures.succeeded(address);
                    result.complete(new HttpVerdict.Pass(credentials[0], null));
                } else {
                    failures.failed(address, "a wrong user name or password for " + LogValues.escape(host));
                    result.complete(challenge(host, "The user name or password is wrong."));
                }
            });
        } catch (RejectedExecutionException e) {
            LOG.warn("password checks are backed up; refusing a sign-in to {}", host);
            return new HttpVerdict.Answer(503, "busy", "Too many sign-in attempts at once; try again in a moment.",
                    Map.of("Retry-After", "1"), List.of());
        }
        return new HttpVerdict.Pending(result);
    }

    private static HttpVerdict challenge(String host, String message) {
        String realm = host == null ? "PicoTunnel" : host.replaceAll("[^A-Za-z0-9.*-]", "");
        return new HttpVerdict.Answer(401, "unauthorized", message,
                Map.of("WWW-Authenticate", "Basic realm=\"" + realm + "\", charset=\"UTF-8\""), List.of());
    }

    /** {user, password} from {@code Basic base64(user:password)}, or null. */
    static String[] credentials(String authorization) {
        if (authorization == null || authorization.length() > MAX_HEADER) {
            return null;
        }
        String value = authorization.strip();
        if (value.length() < 6 || !value.regionMatches(true, 0, "Basic ", 0, 6)) {
            return null;
        }
        String decoded;
        try {
            decoded = new String(Base64.getDecoder().decode(value.substring(6).strip()), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return null;
        }
        int colon = decoded.indexOf(':');
        return colon < 0 ? null : new String[] {decoded.substring(0, colon), decoded.substring(colon + 1)};
    }

    private static String rememberKey(ServiceAuth.Basic auth, String authorization) {
        return Secrets.sha256Hex(auth.passwordHash() + "\n" + auth.username() + "\n" + authorization.strip());
    }

    private boolean remembered(String key) {
        long now = nanoClock.getAsLong();
        synchronized (passed) {
            Long until = passed.get(key);
            if (until == null) {
                return false;
            }
            if (now - until >= 0) {
                passed.remove(key);
                return false;
            }
            return true;
        }
    }

    private void remember(String key) {
        long until = nanoClock.getAsLong() + REMEMBER_NANOS;
        synchronized (passed) {
            passed.put(key, until);
            Iterator<Long> eldest = passed.values().iterator();
            while (passed.size() > MAX_REMEMBERED && eldest.hasNext()) {
                eldest.next();
                eldest.remove();
            }
        }
    }

    @Override
    public void close() {
        checks.shutdownNow();
    }
}
