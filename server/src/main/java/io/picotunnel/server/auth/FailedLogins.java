package io.picotunnel.server.auth;

import io.picotunnel.protocol.config.Durations;
import io.picotunnel.server.net.ClientBlock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Failed authentication, per client address: every failure is logged (the address and what was tried, never the
 * secret), and after {@link Policy#freeFailures} failures the address must wait before it may try again; the wait
 * doubles with each further failure up to {@link Policy#maxDelay}. While it waits, its attempts are refused
 * without being checked (the caller answers 429 with {@code Retry-After}). State is per address only, so a valid
 * credential presented from another address is never held up; a success clears the address's record.
 *
 * <p>IPv4 addresses count one by one; IPv6 addresses by their /64 ({@link ClientBlock}). At most
 * {@link #MAX_TRACKED} addresses are remembered (the oldest record goes first), each until it has been quiet
 * for {@link Policy#forgetAfter}.
 */
public final class FailedLogins {

    /** How many failures are free, and how the wait after them grows. */
    public record Policy(int freeFailures, Duration firstDelay, Duration maxDelay, Duration forgetAfter) {
    }

    /** The management port: the admin token (API and sign-in form). */
    public static final Policy MANAGEMENT = new Policy(5, Duration.ofSeconds(1), Duration.ofMinutes(5), Duration.ofMinutes(15));
    /**
     * The tunnel endpoint: a client with a revoked token retries on its own, and other tunnels' clients may share
     * its address (NAT), so more failures are free and the wait stays short. Tokens have 256 bits: throttling here
     * is about the log and the database, not about guessing.
     */
    public static final Policy TUNNEL = new Policy(10, Duration.ofSeconds(1), Duration.ofMinutes(1), Duration.ofMinutes(15));

    static final int MAX_TRACKED = 100_000;

    private static final Logger LOG = LoggerFactory.getLogger(FailedLogins.class);

    private static final class Record {
        int failures;
        Instant lastFailure;
        Instant blockedUntil = Instant.MIN;
        long refused;
    }

    private final String endpoint;
    private final Policy policy;
    private final Clock clock;
    private final Map<String, Record> byAddress = new LinkedHashMap<>();

    /** @param endpoint what is being authenticated, for the log: "management API", "tunnel endpoint" */
    public FailedLogins(String endpoint, Policy policy, Clock clock) {
        this.endpoint = endpoint;
        this.policy = policy;
        this.clock = clock;
    }

    public FailedLogins(String endpoint, Policy policy) {
        this(endpoint, policy, Clock.systemUTC());
    }

    /**
     * Zero when {@code address} may try now; otherwise how long it must still wait (the attempt is counted as
     * refused and should be answered 429 without checking the credential).
     */
    public synchronized Duration retryAfter(String address) {
        Instant now = clock.instant();
        Record record = byAddress.get(ClientBlock.of(address));
        if (record == null || !now.isBefore(record.blockedUntil)) {
            return Duration.ZERO;
        }
        record.refused++;
        Duration wait = Duration.between(now, record.blockedUntil);
        return wait.isZero() ? Duration.ofMillis(1) : wait;
    }

    /** How long a wrong secret was, for {@code attempt}: "1 character", "64 characters". Never the secret itself. */
    public static String length(String secret) {
        return secret.length() == 1 ? "1 character" : secret.length() + " characters";
    }

    /**
     * Records and logs a failure from {@code address}. {@code attempt} says what was tried, in words that carry no
     * part of the secret ("admin token on POST /api/tunnels").
     */
    public synchronized void failed(String address, String attempt) {
        Instant now = clock.instant();
        forgetQuiet(now);
        String key = ClientBlock.of(address);
        Record record = byAddress.remove(key);
        if (record == null || !now.isBefore(record.lastFailure.plus(policy.forgetAfter()))) {
            record = new Record();
        }
        record.failures++;
        record.lastFailure = now;
        byAddress.put(key, record); // to the end: the map is ordered by last failure
        while (byAddress.size() > MAX_TRACKED) {
            Iterator<String> oldest = byAddress.keySet().iterator();
            oldest.next();
            oldest.remove();
        }
        String refused = record.refused == 0 ? "" : ", " + record.refused + " attempts refused while it had to wait";
        if (record.failures < policy.freeFailures()) {
            LOG.warn("{}: authentication failed from {}: {} (failure {} from this address{})", endpoint, clean(address),
                    attempt, record.failures, refused);
            return;
        }
        Duration delay = delay(record.failures - policy.freeFailures());
        record.blockedUntil = now.plus(delay);
        LOG.warn("{}: authentication failed from {}: {} (failure {} from this address{}); it must wait {} before trying again",
                endpoint, clean(address), attempt, record.failures, refused, Durations.format(delay));
        record.refused = 0;
    }

    /** A wait from {@link #retryAfter} in whole seconds for {@code Retry-After}: rounded up, at least 1. */
    public static long seconds(Duration wait) {
        return Math.max(1, (wait.toMillis() + 999) / 1000);
    }

    /** A success clears what {@code address} had failed. */
    public synchronized void succeeded(String address) {
        byAddress.remove(ClientBlock.of(address));
    }

    /** The wait after the {@code n}-th failure past the free ones (n = 0, 1, ...): doubling, capped. */
    private Duration delay(int n) {
        Duration max = policy.maxDelay();
        Duration delay = policy.firstDelay();
        for (int i = 0; i < n && delay.compareTo(max) < 0; i++) {
            delay = delay.multipliedBy(2);
        }
        return delay.compareTo(max) > 0 ? max : delay;
    }

    private void forgetQuiet(Instant now) {
        Iterator<Record> records = byAddress.values().iterator();
        for (int checked = 0; records.hasNext() && checked < 16; checked++) {
            Record oldest = records.next();
            if (now.isBefore(oldest.lastFailure.plus(policy.forgetAfter())) || now.isBefore(oldest.blockedUntil)) {
                return;
            }
            records.remove();
        }
    }

    /** An address for the log: what a socket address can hold, nothing else. */
    private static String clean(String address) {
        return address == null ? "unknown address" : address.replaceAll("[^0-9A-Za-z.:%\\[\\]_-]", "?");
    }
}
