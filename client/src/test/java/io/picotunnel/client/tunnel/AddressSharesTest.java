package io.picotunnel.client.tunnel;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** The shares of one timeout that the addresses of a name get, tried in turn, as Go's net.Dialer gives them. */
class AddressSharesTest {

    @Test
    void eachAddressGetsTheTimeLeftSplitOverTheAddressesLeftAndAtLeastTwoSeconds() {
        long second = Duration.ofSeconds(1).toNanos();
        assertThat(AddressShares.shareNanos(10 * second, 2)).isEqualTo(5 * second);
        assertThat(AddressShares.shareNanos(10 * second, 1)).isEqualTo(10 * second);
        assertThat(AddressShares.shareNanos(10 * second, 8)).isEqualTo(2 * second);
        assertThat(AddressShares.shareNanos(3 * second, 2)).isEqualTo(2 * second);
        assertThat(AddressShares.shareNanos(second, 2)).isEqualTo(second);
    }

    @Test
    void theConnectTimeoutIsTheShareInMillisecondsAndZeroOnceTheTimeRanOut() {
        long now = System.nanoTime();
        assertThat(AddressShares.connectTimeoutMillis(now + Duration.ofSeconds(60).toNanos(), 2))
                .isBetween(29_000, 30_000);
        assertThat(AddressShares.connectTimeoutMillis(now + Duration.ofHours(1).toNanos(), 1)).isPositive();
        assertThat(AddressShares.connectTimeoutMillis(now - 1, 1)).isZero();
    }
}
