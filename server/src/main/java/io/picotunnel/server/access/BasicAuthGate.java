package io.picotunnel.server.access;

import io.picotunnel.protocol.text.ControlCharacters;
import io.picotunnel.protocol.ws.TunnelErrorCodes;
import io.picotunnel.server.auth.FailedLogins;
import io.picotunnel.server.auth.Secrets;
import io.picotunnel.server.net.ClientBlock;
import io.picotunnel.server.net.RefusalLog;
import io.picotunnel.server.net.RetryAfter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
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
 * credentials that passed before (remembered), which cannot be a guess. At most {@link #MAX_CHECKS_PER_ADDRESS}
 * different credentials of one address are checked at once; the same credentials sent in parallel share a check.
 */
final class BasicAuthGate implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(BasicAuthGate.class);
    static final long REMEMBER_NANOS = TimeUnit.MINUTES.toNanos(10);
    static final int MAX_REMEMBERED = 10_000;
    private static final int MAX_HEADER = 1024;
    /** Wrong passwords from one address: 5 free, then a wait from 1 s doubling to 5 min, forgotten after 15 min. */
    static final FailedLogins.Policy FAILURES = new FailedLogins.Policy(5, Duration.ofSeconds(1), Duration.ofMinutes(5),
            Duration.ofMinutes(15));
    /** Different credentials from one address (IPv6: /64) checked at once. */
    static final int MAX_CHECKS_PER_ADDRESS = 2;

    private final ExecutorService checks;
    /** A flood of sign-ins is when the pool backs up: its refusals are logged once a minute, with their count. */
    private final RefusalLog backedUp;
    /** A check that throws is a bug, and then every sign-in's would: logged once a minute, the first with its trace. */
    private final RefusalLog checkFailed;
    private final LongSupplier nanoClock;
    private final FailedLogins failures;
    /** Checks running or queued: by credentials (digest as for {@link #passed}), and how many per address block. */
    private final Map<String, CompletableFuture<Boolean>> checking = new HashMap<>();
    private final Map<InetAddress, Integer> checksOf = new HashMap<>();
    /** Passed credentials: digest of (hash, header) to when it stops counting. */
    private final LinkedHashMap<String, Long> passed = new LinkedHashMap<>(64, 0.75f, true);
    /** Set by {@link #close}: a check refused or dropped from then on is the server stopping, not a flood. */
    private volatile boolean closed;

    BasicAuthGate(LongSupplier nanoClock) {
        this(nanoClock, checkPool());
    }

    /** With {@code checks} running the password checks (a full one rejects them). */
    BasicAuthGate(LongSupplier nanoClock, ExecutorService checks) {
        this(nanoClock, checks, new FailedLogins("password of an http service", FAILURES));
    }

    /** With {@code failures} counting the wrong passwords (policy {@link #FAILURES}). */
    BasicAuthGate(LongSupplier nanoClock, ExecutorService checks, FailedLogins failures) {
        this(nanoClock, checks, failures, System::nanoTime);
    }

    /** With {@code logClock} read for the once-a-minute lines of refused and failed checks. */
    BasicAuthGate(LongSupplier nanoClock, ExecutorService checks, FailedLogins failures, LongSupplier logClock) {
        this.nanoClock = nanoClock;
        this.failures = failures;
        this.checks = checks;
        this.backedUp = new RefusalLog(LOG, RefusalLog.DEFAULT_INTERVAL, logClock);
        this.checkFailed = new RefusalLog(LOG, RefusalLog.DEFAULT_INTERVAL, logClock);
    }

    private static ExecutorService checkPool() {
        ThreadPoolExecutor pool = new ThreadPoolExecutor(2, 2, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(512),
                runnable -> {
                    Thread thread = new Thread(runnable, "picotunnel-password-check");
                    thread.setDaemon(true);
                    return thread;
                });
        pool.allowCoreThreadTimeOut(true);
        return pool;
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
            long seconds = FailedLogins.seconds(wait);
            return new HttpVerdict.Answer(429, TunnelErrorCodes.TOO_MANY_ATTEMPTS,
                    "Too many wrong passwords from your address: wait " + seconds
                            + (seconds == 1 ? " second" : " seconds") + ", then try again.",
                    Map.of("Retry-After", Long.toString(seconds)), List.of());
        }
        // The same credentials already being checked (a client's parallel first requests) wait for that check;
        // other credentials from this address wait for none, but at most MAX_CHECKS_PER_ADDRESS run at once: guesses
        // sent all together would otherwise all be checked before the first failure counted.
        InetAddress block = ClientBlock.of(visitor);
        CompletableFuture<Boolean> running;
        boolean start = false;
        synchronized (checking) {
            running = checking.get(key);
            if (running == null) {
                if (checksOf.getOrDefault(block, 0) >= MAX_CHECKS_PER_ADDRESS) {
                    return new HttpVerdict.Answer(429, TunnelErrorCodes.TOO_MANY_ATTEMPTS, "Your address has passwords"
                            + " being checked already: wait for their answers, then try again.",
                            RetryAfter.PASSWORD_CHECKS_BUSY_HEADERS, List.of());
                }
                running = new CompletableFuture<>();
                checking.put(key, running);
                checksOf.merge(block, 1, Integer::sum);
                start = true;
            }
        }
        if (start) {
            CompletableFuture<Boolean> check = running;
            try {
                checks.execute(() -> {
                    Boolean passed = null;
                    Throwable failure = null;
                    try {
                        // Both checks always run, so the time taken does not tell whether the user name was right.
                        boolean userMatches = Secrets.matches(credentials[0], UnicodeNames.composed(auth.username()));
                        boolean passwordMatches = PasswordHash.matches(credentials[1], auth.passwordHash());
                        passed = userMatches && passwordMatches;
                        if (passed) {
                            failures.succeeded(address);
                            remember(key); // last: a check that throws before it remembers nothing
                        } else {
                            failures.failed(address, "a wrong user name or password for " + ControlCharacters.bounded(host));
                        }
                    } catch (RuntimeException | Error e) {
                        // A bug, not the visitor's password: answered 500 (the proxy's "check failed"), not 401
                        failure = e;
                        logFailure(host, "failed", e);
                    } finally {
                        // Also when the log throws (an appender's Error): else the credentials' later requests would
                        // wait on this check for ever, and the address would have one check fewer
                        ended(key, block, check, passed, failure);
                    }
                });
            } catch (RejectedExecutionException e) {
                ended(key, block, check, null, null);
            } catch (RuntimeException | Error e) {
                // Not taken for another cause (an OutOfMemoryError: no thread could be started), a failure of ours:
                // answered as a check that failed, else the credentials' later requests would wait on it for ever
                try {
                    logFailure(host, "could not start", e);
                } catch (RuntimeException | Error logFailed) {
                    // The log's own (an appender's Error), on the request's thread: let out of check(), it would take
                    // the place of the request's answer; printed with the failure it did not log, as the JVM prints
                    // one out of a pool's task, as nothing else logs that failure
                    if (logFailed != e) { // the JVM's one shared OutOfMemoryError, else self-suppression throws
                        e.addSuppressed(logFailed);
                    }
                    printUncaught(e);
                } finally {
                    ended(key, block, check, null, e);
                }
            }
        }
        return new HttpVerdict.Pending(running.thenApply(passed -> {
            if (passed == null && closed) {
                return new HttpVerdict.Answer(503, TunnelErrorCodes.SERVER_STOPPING, "The tunnel server is stopping, and"
                        + " this request was still in its password check: it did not reach the app. Please try again in a moment.",
                        RetryAfter.IN_A_MOMENT_HEADERS, List.of());
            }
            if (passed == null) {
                backedUp.refused(true, () -> "password checks are backed up; refusing a sign-in to " + ControlCharacters.bounded(host));
                return new HttpVerdict.Answer(503, AccessErrorCodes.BUSY,
                        "Too many sign-in attempts at once; try again in a moment.",
                        RetryAfter.PASSWORD_CHECKS_BUSY_HEADERS, List.of());
            }
            return passed ? new HttpVerdict.Pass(credentials[0], null)
                    : challenge(host, "The user name or password is wrong.");
        }));
    }

    /**
     * A check of {@code key} from {@code block} has ended (or never started): its credentials and its place among the
     * address's checks are freed, then its requests answered with {@code passed} (null: not checked), or
     * {@code failure} when the check threw.
     */
    private void ended(String key, InetAddress block, CompletableFuture<Boolean> check, Boolean passed,
            Throwable failure) {
        synchronized (checking) {
            // Only while they are still its own: close() or a throw of the pool's that kept the task freed them already
            if (checking.remove(key, check)) {
                checksOf.computeIfPresent(block, (b, n) -> n <= 1 ? null : n - 1);
            }
        }
        if (failure == null) {
            check.complete(passed);
        } else {
            check.completeExceptionally(failure);
        }
    }

    /**
     * {@code failure} printed through the thread's uncaught exception handler, whose own throw (out of memory while it
     * prints the trace) is dropped: nothing is left to tell it with, and let out of check() it would take the place
     * of the request's answer.
     */
    private static void printUncaught(Throwable failure) {
        Thread thread = Thread.currentThread();
        try {
            thread.getUncaughtExceptionHandler().uncaughtException(thread, failure);
        } catch (RuntimeException | Error printFailed) {
            // dropped, as the JVM drops what an uncaught exception handler throws
        }
    }

    /** A password check of a request to {@code host} that {@code failed} ("failed", "could not start"): a bug. */
    private void logFailure(String host, String failed, Throwable e) {
        checkFailed.failed(() -> "the password check of a request to " + ControlCharacters.bounded(host) + " " + failed,
                e);
    }

    private static HttpVerdict challenge(String host, String message) {
        String realm = host == null ? "PicoTunnel" : host.replaceAll("[^A-Za-z0-9.*-]", "");
        return new HttpVerdict.Answer(401, TunnelErrorCodes.UNAUTHORIZED, message,
                Map.of("WWW-Authenticate", "Basic realm=\"" + realm + "\", charset=\"UTF-8\""), List.of());
    }

    /** {user, password} from {@code Basic base64(user:password)}, or null; the user name composed ({@link UnicodeNames}). */
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
        return colon < 0 ? null : new String[] {UnicodeNames.composed(decoded.substring(0, colon)), decoded.substring(colon + 1)};
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

    /**
     * Stops the checks. Those queued are dropped and a running one is let go (bcrypt does not look at interrupts): their
     * requests are answered 503 server_stopping now rather than never, the visitor told to come back.
     */
    @Override
    public void close() {
        closed = true;
        checks.shutdownNow();
        List<CompletableFuture<Boolean>> cut;
        synchronized (checking) {
            // A check started before shutdownNow is here; one after it is refused (answered as below)
            cut = List.copyOf(checking.values());
            checking.clear();
            checksOf.clear();
        }
        cut.forEach(check -> check.complete(null));
    }
}
