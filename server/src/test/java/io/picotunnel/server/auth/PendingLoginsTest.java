package io.picotunnel.server.auth;

import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;

import static org.assertj.core.api.Assertions.assertThat;

class PendingLoginsTest {

    private final PendingLogins pending = new PendingLogins(Clock.fixed(Instant.parse("2026-01-01T00:00:00Z"), ZoneOffset.UTC), 2, 4);

    @Test
    void whenFullNewSignInsAreRefusedAndWaitingOnesAreKept() {
        assertThat(pending.put("a1", "n", "v", "/", "10.0.0.1", "k")).isTrue();
        assertThat(pending.put("b1", "n", "v", "/", "10.0.0.2", "k")).isTrue();
        assertThat(pending.put("c1", "n", "v", "/", "10.0.0.3", "k")).isTrue();
        assertThat(pending.put("d1", "n", "v", "/", "10.0.0.4", "k")).isTrue();
        assertThat(pending.put("e1", "n", "v", "/", "10.0.0.5", "k")).isFalse();

        assertThat(pending.take("a1", "k").pending()).isPresent();
        assertThat(pending.put("e1", "n", "v", "/", "10.0.0.5", "k")).isTrue();
    }

    @Test
    void anAddressPushesOutOnlyItsOwnOldestSignIn() {
        pending.put("victim", "n", "v", "/", "10.0.0.1", "k");
        for (int i = 0; i < 10; i++) {
            assertThat(pending.put("flood" + i, "n", "v", "/", "10.0.0.9", "k")).isTrue();
        }
        assertThat(pending.size()).isEqualTo(3);
        assertThat(pending.take("flood0", "k").refusal()).isEqualTo(PendingLogins.Refusal.UNKNOWN);
        assertThat(pending.take("victim", "k").pending()).isPresent();
    }

    @Test
    void ipv6AddressesCountByTheirSlash64() {
        pending.put("x1", "n", "v", "/", "2001:db8::1", "k");
        pending.put("x2", "n", "v", "/", "2001:db8::2", "k");
        pending.put("x3", "n", "v", "/", "2001:db8::ffff:3", "k");
        assertThat(pending.take("x1", "k").refusal()).isEqualTo(PendingLogins.Refusal.UNKNOWN);
        assertThat(pending.take("x3", "k").pending()).isPresent();
    }

    @Test
    void aSignInIsTakenOnlyWithTheBrowserKeyThatStartedIt() {
        pending.put("s", "n", "v", "/", "10.0.0.1", "mine");
        assertThat(pending.take("s", "theirs").refusal()).isEqualTo(PendingLogins.Refusal.OTHER_BROWSER);
        assertThat(pending.take("s", "mine").refusal()).as("taken once, even by the wrong browser").isEqualTo(PendingLogins.Refusal.UNKNOWN);
        pending.put("t", "n", "v", "/", "10.0.0.1", "mine");
        assertThat(pending.take("t", null).refusal()).isEqualTo(PendingLogins.Refusal.OTHER_BROWSER);
    }
}
