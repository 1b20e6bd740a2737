package io.picotunnel.server.access;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class RateLimiterTest {

    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private static final long SECOND = 1_000_000_000L;

    private static InetAddress address(String text) throws Exception {
        return InetAddress.getByName(text);
    }

    @Test
    void burstIsAllowedThenTokensComeBackAtTheRate() throws Exception {
        RateLimiter limiter = new RateLimiter(100, now::get);
        RateLimit limit = new RateLimit(2, 3);
        InetAddress visitor = address("192.0.2.1");

        for (int i = 0; i < 3; i++) {
            assertThat(limiter.acquire("s", visitor, limit).allowed()).isTrue();
        }
        RateLimiter.Verdict refused = limiter.acquire("s", visitor, limit);
        assertThat(refused.allowed()).isFalse();
        assertThat(refused.retryAfterNanos()).isEqualTo(SECOND / 2);
        assertThat(refused.retryAfterSeconds()).isEqualTo(1);

        now.addAndGet(SECOND / 2);
        assertThat(limiter.acquire("s", visitor, limit).allowed()).isTrue();
        assertThat(limiter.acquire("s", visitor, limit).allowed()).isFalse();
    }

    @Test
    void aRateFarBelowOneAYearSaysAWaitOfAYearNotOneSecond() throws Exception {
        RateLimiter limiter = new RateLimiter(100, now::get);
        RateLimit limit = new RateLimit(1e-12, 1);
        InetAddress visitor = address("192.0.2.9");
        assertThat(limiter.acquire("s", visitor, limit).allowed()).isTrue();
        RateLimiter.Verdict refused = limiter.acquire("s", visitor, limit);
        assertThat(refused.allowed()).isFalse();
        assertThat(refused.retryAfterSeconds()).as("Retry-After").isEqualTo(365L * 24 * 3600);
        now.addAndGet(30 * 24 * 3600 * SECOND);
        assertThat(limiter.acquire("s", visitor, limit).allowed()).as("a month later").isFalse();
        assertThat(limiter.size()).isEqualTo(1);
    }

    @Test
    void aLoweredLimitKeepsAVisitorWhoUsedItsBurstWaitingAndARaisedOneRefillsAtItsRate() throws Exception {
        RateLimiter limiter = new RateLimiter(100, now::get);
        InetAddress visitor = address("192.0.2.1");
        for (int i = 0; i < 100; i++) {
            assertThat(limiter.acquire("s", visitor, new RateLimit(100, 100)).allowed()).isTrue();
        }

        RateLimit lowered = new RateLimit(0.1, 5);
        RateLimiter.Verdict refused = limiter.acquire("s", visitor, lowered);
        assertThat(refused.allowed()).isFalse();
        assertThat(refused.retryAfterSeconds()).isEqualTo(10);

        now.addAndGet(10 * SECOND);
        assertThat(limiter.acquire("s", visitor, lowered).allowed()).isTrue();
        assertThat(limiter.acquire("s", visitor, lowered).allowed()).isFalse();

        RateLimit raised = new RateLimit(1, 50);
        assertThat(limiter.acquire("s", visitor, raised).retryAfterNanos()).isEqualTo(SECOND);
        now.addAndGet(SECOND);
        assertThat(limiter.acquire("s", visitor, raised).allowed()).isTrue();
        assertThat(limiter.acquire("s", visitor, raised).allowed()).isFalse();
    }

    @Test
    void visitorsAndServicesHaveBucketsOfTheirOwn() throws Exception {
        RateLimiter limiter = new RateLimiter(100, now::get);
        RateLimit limit = new RateLimit(1, 1);

        assertThat(limiter.acquire("a", address("192.0.2.1"), limit).allowed()).isTrue();
        assertThat(limiter.acquire("a", address("192.0.2.1"), limit).allowed()).isFalse();
        assertThat(limiter.acquire("a", address("192.0.2.2"), limit).allowed()).isTrue();
        assertThat(limiter.acquire("b", address("192.0.2.1"), limit).allowed()).isTrue();
        assertThat(limiter.acquire("a", address("2001:db8::1"), null).allowed()).isTrue();
    }

    @Test
    void anIpv6VisitorHasOneBucketForItsWholeSlash64() throws Exception {
        RateLimiter limiter = new RateLimiter(100, now::get);
        RateLimit limit = new RateLimit(1, 2);

        assertThat(limiter.acquire("s", address("2001:db8:1:2::1"), limit).allowed()).isTrue();
        assertThat(limiter.acquire("s", address("2001:db8:1:2:ffff:ffff:ffff:ffff"), limit).allowed()).isTrue();
        assertThat(limiter.acquire("s", address("2001:db8:1:2::3"), limit).allowed()).as("same /64").isFalse();
        assertThat(limiter.acquire("s", address("2001:db8:1:3::1"), limit).allowed()).as("next /64").isTrue();
        assertThat(limiter.size()).isEqualTo(2);
    }

    @Test
    void bucketsNeverOutnumberTheBound() throws Exception {
        RateLimiter limiter = new RateLimiter(10, now::get);
        RateLimit limit = new RateLimit(1, 5);
        for (int i = 0; i < 1000; i++) {
            limiter.acquire("s", address("10.0." + (i / 256) + "." + (i % 256)), limit);
        }
        assertThat(limiter.size()).isEqualTo(10);
    }

    @Test
    void bucketsThatAreFullAgainExpire() throws Exception {
        RateLimiter limiter = new RateLimiter(1000, now::get);
        RateLimit limit = new RateLimit(1, 2);
        for (int i = 0; i < 4; i++) {
            limiter.acquire("s", address("10.0.0." + i), limit);
        }
        assertThat(limiter.size()).isEqualTo(4);

        now.addAndGet(3 * SECOND);
        limiter.acquire("s", address("10.0.1.1"), limit);

        assertThat(limiter.size()).isEqualTo(1);
    }
}
