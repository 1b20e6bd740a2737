package io.picotunnel.server.auth;

import io.picotunnel.testkit.ManualClock;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

class FailedLoginsTest {

    private final ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));
    private final FailedLogins failures = new FailedLogins("test", new FailedLogins.Policy(3, Duration.ofSeconds(1),
            Duration.ofSeconds(5), Duration.ofMinutes(15)), clock);

    @Test
    void theWaitStartsAfterTheFreeFailuresAndDoublesUpToTheCap() {
        failures.failed("10.0.0.1", "x");
        failures.failed("10.0.0.1", "x");
        assertThat(failures.retryAfter("10.0.0.1")).isZero();
        failures.failed("10.0.0.1", "x");
        assertThat(failures.retryAfter("10.0.0.1")).isEqualTo(Duration.ofSeconds(1));

        Duration[] expected = {Duration.ofSeconds(2), Duration.ofSeconds(4), Duration.ofSeconds(5), Duration.ofSeconds(5)};
        for (Duration wait : expected) {
            clock.advance(failures.retryAfter("10.0.0.1"));
            assertThat(failures.retryAfter("10.0.0.1")).isZero();
            failures.failed("10.0.0.1", "x");
            assertThat(failures.retryAfter("10.0.0.1")).isEqualTo(wait);
        }
        assertThat(failures.retryAfter("10.0.0.2")).as("another address").isZero();
    }

    @Test
    void aQuietAddressIsForgottenAndASuccessClearsIt() {
        for (int i = 0; i < 3; i++) {
            failures.failed("10.0.0.1", "x");
        }
        clock.advance(Duration.ofMinutes(16));
        failures.failed("10.0.0.1", "x");
        assertThat(failures.retryAfter("10.0.0.1")).as("counting starts again").isZero();

        failures.failed("10.0.0.1", "x");
        failures.succeeded("10.0.0.1");
        failures.failed("10.0.0.1", "x");
        assertThat(failures.retryAfter("10.0.0.1")).isZero();
    }

    @Test
    void ipv6AddressesOfOneSlash64CountTogether() {
        failures.failed("2001:db8:1:2::1", "x");
        failures.failed("2001:db8:1:2::ffff", "x");
        failures.failed("[2001:db8:1:2:aaaa::3]", "x");
        assertThat(failures.retryAfter("2001:db8:1:2::77")).isPositive();
        assertThat(failures.retryAfter("2001:db8:1:3::1")).isZero();
    }

    @Test
    void retryAfterSecondsRoundUpSoAClientNeverComesBackTooEarly() {
        assertThat(FailedLogins.seconds(Duration.ofMillis(1))).isEqualTo(1);
        assertThat(FailedLogins.seconds(Duration.ofMillis(1000))).isEqualTo(1);
        assertThat(FailedLogins.seconds(Duration.ofMillis(1001))).isEqualTo(2);
        assertThat(FailedLogins.seconds(Duration.ofSeconds(60))).isEqualTo(60);
    }
}
