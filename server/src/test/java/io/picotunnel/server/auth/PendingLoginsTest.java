package io.picotunnel.server.auth;

import io.picotunnel.testkit.ManualClock;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

class PendingLoginsTest {

    private final ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));
    private final PendingLogins<String> pending = new PendingLogins<>(clock, 2, 4);

    private boolean put(String state, String address, String browserKey) {
        return pending.put(new OidcProvider.AuthorizationStart(URI.create("https://idp.example/auth"), state, "n", "v"),
                "/", address, browserKey);
    }

    @Test
    void whenFullNewSignInsAreRefusedAndWaitingOnesAreKept() {
        assertThat(put("a1", "10.0.0.1", "k")).isTrue();
        assertThat(put("b1", "10.0.0.2", "k")).isTrue();
        assertThat(put("c1", "10.0.0.3", "k")).isTrue();
        assertThat(put("d1", "10.0.0.4", "k")).isTrue();
        assertThat(put("e1", "10.0.0.5", "k")).isFalse();

        assertThat(pending.take("a1", "k").pending()).isPresent();
        assertThat(put("e1", "10.0.0.5", "k")).isTrue();
    }

    @Test
    void anAddressPushesOutOnlyItsOwnOldestSignIn() {
        put("victim", "10.0.0.1", "k");
        for (int i = 0; i < 10; i++) {
            assertThat(put("flood" + i, "10.0.0.9", "k")).isTrue();
        }
        assertThat(pending.size()).isEqualTo(3);
        assertThat(pending.take("flood0", "k").refusal()).isEqualTo(PendingLogins.Refusal.UNKNOWN);
        assertThat(pending.take("victim", "k").pending()).isPresent();
    }

    @Test
    void ipv6AddressesCountByTheirSlash64() {
        put("x1", "2001:db8::1", "k");
        put("x2", "2001:db8::2", "k");
        put("x3", "2001:db8::ffff:3", "k");
        assertThat(pending.take("x1", "k").refusal()).isEqualTo(PendingLogins.Refusal.UNKNOWN);
        assertThat(pending.take("x3", "k").pending()).isPresent();
    }

    @Test
    void aSignInIsTakenOnlyWithTheBrowserKeyThatStartedIt() {
        put("s", "10.0.0.1", "mine");
        assertThat(pending.take("s", "theirs").refusal()).isEqualTo(PendingLogins.Refusal.OTHER_BROWSER);
        assertThat(pending.take("s", "mine").refusal()).as("taken once, even by the wrong browser").isEqualTo(PendingLogins.Refusal.UNKNOWN);
        put("t", "10.0.0.1", "mine");
        assertThat(pending.take("t", null).refusal()).isEqualTo(PendingLogins.Refusal.OTHER_BROWSER);
    }

    @Test
    void eachSignInHasACookieNamedAfterItsStateAndOnlyOursGetOne() {
        assertThat(PendingLogins.cookieName("picotunnel_signin", "AbC_12-xyz0123456789")).isEqualTo("picotunnel_signin-AbC_12-xyz0123456789");
        assertThat(PendingLogins.cookieName("picotunnel_signin", null)).isNull();
        assertThat(PendingLogins.cookieName("picotunnel_signin", "short")).isNull();
        assertThat(PendingLogins.cookieName("picotunnel_signin", "0123456789abcdef; Max-Age=9")).isNull();
    }

    @Test
    void theCookiesOfSignInsThatNoLongerWaitAreNamed() {
        String waiting = "w".repeat(43);
        String taken = "t".repeat(43);
        put(waiting, "10.0.0.1", "mine");
        put(taken, "10.0.0.1", "mine");
        pending.take(taken, "mine");

        assertThat(pending.finishedStates("theme=dark; picotunnel_signin-" + waiting + "=k; picotunnel_signin-" + taken
                + "=k; __Host-picotunnel_signin-" + "h".repeat(43) + "=k; picotunnel_signin_error=e; picotunnel_signin-x=k",
                "picotunnel_signin")).containsExactly(taken);
        assertThat(pending.finishedStates(null, "picotunnel_signin")).isEmpty();
    }

    @Test
    void aSignInExpiresAfterItsTtl() {
        put("old", "10.0.0.1", "k");
        clock.advance(PendingLogins.TTL.minus(Duration.ofSeconds(1)));
        put("young", "10.0.0.1", "k");
        clock.advance(Duration.ofSeconds(2));

        assertThat(pending.take("old", "k").refusal()).isEqualTo(PendingLogins.Refusal.UNKNOWN);
        assertThat(pending.size()).isEqualTo(1);
        assertThat(pending.take("young", "k").pending()).isPresent();
    }

    @Test
    void aBrowserKeepsAWellFormedKeyAndGetsANewOneForAnythingElse() {
        String key = PendingLogins.browserKey(null);
        assertThat(key).matches("[0-9a-f]{64}");
        assertThat(PendingLogins.browserKey(key)).isEqualTo(key);
        assertThat(PendingLogins.browserKey("chosen-by-an-attacker")).isNotEqualTo("chosen-by-an-attacker").matches("[0-9a-f]{64}");
    }
}
