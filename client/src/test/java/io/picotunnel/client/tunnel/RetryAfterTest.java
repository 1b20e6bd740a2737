package io.picotunnel.client.tunnel;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

class RetryAfterTest {

    private static final Instant NOW = Instant.parse("2026-12-02T13:30:00Z");

    @Test
    void deltaSecondsAreTheWait() {
        assertThat(RetryAfter.parse("3", NOW)).isEqualTo(Duration.ofSeconds(3));
        assertThat(RetryAfter.parse(" 120 ", NOW)).isEqualTo(Duration.ofSeconds(120));
        assertThat(RetryAfter.parse("0", NOW)).isEqualTo(Duration.ZERO);
    }

    @Test
    void leadingZerosDoNotMakeAValueTooLongToRead() {
        assertThat(RetryAfter.parse("0000000005", NOW)).isEqualTo(Duration.ofSeconds(5));
        assertThat(RetryAfter.parse("000000000000000000000120", NOW)).isEqualTo(Duration.ofSeconds(120));
        assertThat(RetryAfter.parse("0000000000", NOW)).isEqualTo(Duration.ZERO);
    }

    @Test
    void anHttpDateIsWaitedForInAnyOfItsThreeForms() {
        assertThat(RetryAfter.parse("Wed, 02 Dec 2026 13:30:07 GMT", NOW)).isEqualTo(Duration.ofSeconds(7));
        assertThat(RetryAfter.parse("Wednesday, 02-Dec-26 13:30:07 GMT", NOW)).isEqualTo(Duration.ofSeconds(7));
        assertThat(RetryAfter.parse("Wed Dec  2 13:30:07 2026", NOW)).isEqualTo(Duration.ofSeconds(7));
    }

    @Test
    void aDateGoneByAsksForNoWait() {
        assertThat(RetryAfter.parse("Wed, 02 Dec 2026 13:29:00 GMT", NOW)).isEqualTo(Duration.ZERO);
    }

    @Test
    void waitsLongerThanTenMinutesAreCutToTen() {
        assertThat(RetryAfter.parse("3600", NOW)).isEqualTo(Duration.ofMinutes(10));
        assertThat(RetryAfter.parse("99999999999999999999999", NOW)).isEqualTo(Duration.ofMinutes(10));
        assertThat(RetryAfter.parse("Thu, 03 Dec 2026 13:30:00 GMT", NOW)).isEqualTo(Duration.ofMinutes(10));
    }

    @Test
    void absentOrMeaninglessValuesAreIgnored() {
        assertThat(RetryAfter.parse(null, NOW)).isNull();
        assertThat(RetryAfter.parse("", NOW)).isNull();
        assertThat(RetryAfter.parse("-5", NOW)).isNull();
        assertThat(RetryAfter.parse("1.5", NOW)).isNull();
        assertThat(RetryAfter.parse("soon", NOW)).isNull();
        assertThat(RetryAfter.parse("\u0663", NOW)).as("digits other than ASCII").isNull();
    }
}
