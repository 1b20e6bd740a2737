package io.picotunnel.server.access;

import io.picotunnel.server.net.ClientBlock;

import java.net.InetAddress;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.function.LongSupplier;

/**
 * Token buckets per service and visitor address ({@link ClientBlock}: IPv6 by its /64). Memory is bounded: at most
 * {@link #maxBuckets} buckets, least recently used first out; a bucket idle long enough to be full again is the
 * same as no bucket and is dropped as the limiter is used.
 *
 * <p>Buckets are never dropped for a service's sake. A deleted service's are never used again (a service made
 * later has a new random id), so they go as above. A changed limit applies to the buckets as they are: refilled at the
 * new rate, never above the new burst; a fresh full bucket would hand every visitor, the one the limit was lowered
 * for too, a whole new burst.
 */
public final class RateLimiter {

    /** Default bound on the buckets kept, for all services together. */
    public static final int DEFAULT_MAX_BUCKETS = 100_000;
    /** The longest wait a verdict names, and the longest a bucket is kept to fill up: a year. */
    static final long MAX_WAIT_NANOS = 365L * 24 * 3600 * 1_000_000_000L;
    /** Buckets looked at for expiry on each use (the least recently used ones). */
    private static final int SWEEP = 4;

    /** A decision: allowed, or refused until {@code retryAfterNanos} from now. */
    public record Verdict(boolean allowed, long retryAfterNanos) {
        static final Verdict ALLOWED = new Verdict(true, 0);

        /** Whole seconds to wait, at least 1, for {@code Retry-After}. */
        public long retryAfterSeconds() {
            return Math.max(1, (retryAfterNanos + 999_999_999L) / 1_000_000_000L);
        }
    }

    private record Key(String serviceId, InetAddress block) {
    }

    private static final class Bucket {
        double tokens;
        long updatedNanos;
        long fullAtNanos;
    }

    private final int maxBuckets;
    private final LongSupplier nanoClock;
    private final LinkedHashMap<Key, Bucket> buckets = new LinkedHashMap<>(256, 0.75f, true);

    public RateLimiter() {
        this(DEFAULT_MAX_BUCKETS, System::nanoTime);
    }

    public RateLimiter(int maxBuckets, LongSupplier nanoClock) {
        if (maxBuckets < 1) {
            throw new IllegalArgumentException("maxBuckets must be at least 1");
        }
        this.maxBuckets = maxBuckets;
        this.nanoClock = nanoClock;
    }

    /** Takes one token for {@code visitor} of service {@code serviceId} under {@code limit} (null: always allowed). */
    public Verdict acquire(String serviceId, InetAddress visitor, RateLimit limit) {
        if (limit == null) {
            return Verdict.ALLOWED;
        }
        long now = nanoClock.getAsLong();
        synchronized (buckets) {
            sweep(now);
            Key key = new Key(serviceId, ClientBlock.of(visitor));
            Bucket bucket = buckets.get(key);
            if (bucket == null) {
                bucket = new Bucket();
                bucket.tokens = limit.burst();
                bucket.updatedNanos = now;
                buckets.put(key, bucket);
                if (buckets.size() > maxBuckets) {
                    Iterator<Key> eldest = buckets.keySet().iterator();
                    eldest.next();
                    eldest.remove();
                }
            } else {
                double refill = (now - bucket.updatedNanos) / 1e9 * limit.perSecond();
                bucket.tokens = Math.min(limit.burst(), bucket.tokens + refill);
                bucket.updatedNanos = now;
            }
            // A bucket may have been made under another limit (the service changed): never more than this burst.
            bucket.tokens = Math.min(bucket.tokens, limit.burst());
            Verdict verdict;
            if (bucket.tokens >= 1) {
                bucket.tokens -= 1;
                verdict = Verdict.ALLOWED;
            } else {
                verdict = new Verdict(false, nanosUntil(1 - bucket.tokens, limit));
            }
            bucket.fullAtNanos = now + nanosUntil(limit.burst() - bucket.tokens, limit);
            return verdict;
        }
    }

    /**
     * Nanoseconds until {@code tokens} more have come at the limit's rate, at most {@link #MAX_WAIT_NANOS}: at a rate
     * far below one a year (the API takes any rate above 0) the product overflowed a long, and Retry-After said 1 s.
     */
    private static long nanosUntil(double tokens, RateLimit limit) {
        return (long) Math.min(Math.ceil(tokens / limit.perSecond() * 1e9), MAX_WAIT_NANOS);
    }

    /** Drops the least recently used buckets that are full again by now. */
    private void sweep(long now) {
        Iterator<Bucket> eldest = buckets.values().iterator();
        for (int i = 0; i < SWEEP && eldest.hasNext(); i++) {
            if (now - eldest.next().fullAtNanos >= 0) {
                eldest.remove();
            } else {
                return;
            }
        }
    }

    /** Buckets held right now. */
    public int size() {
        synchronized (buckets) {
            return buckets.size();
        }
    }

}
