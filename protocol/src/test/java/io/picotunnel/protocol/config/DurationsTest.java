package io.picotunnel.protocol.config;

import java.time.Duration;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DurationsTest {

    @Test
    void takesEveryUnitAndPlainSeconds() {
        assertThat(Durations.parse("500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(Durations.parse("30s")).isEqualTo(Duration.ofSeconds(30));
        assertThat(Durations.parse("2m")).isEqualTo(Duration.ofMinutes(2));
        assertThat(Durations.parse("1h")).isEqualTo(Duration.ofHours(1));
        assertThat(Durations.parse("7d")).isEqualTo(Duration.ofDays(7));
        assertThat(Durations.parse("45")).isEqualTo(Duration.ofSeconds(45));
        assertThat(Durations.parse(" 10S ")).isEqualTo(Duration.ofSeconds(10));
        assertThat(Durations.parse("0")).isEqualTo(Duration.ZERO);
    }

    @Test
    void refusesWhatIsNoDurationWithASentence() {
        for (String text : new String[] {"", "soon", "-1s", "+1s", "1.5s", "1 s", "10w", "s", "1e3", "١٠s"}) {
            assertThatThrownBy(() -> Durations.parse(text)).as(text)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("'" + text + "' is not a duration such as 30s, 500ms, 2m, 1h or 7d");
        }
    }

    @Test
    void aWrongDurationIsQuotedWithItsControlCharactersWrittenOut() {
        assertThatThrownBy(() -> Durations.parse("3\r\n0s\u202E")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("'3\\r\\n0s\\u202e' is not a duration such as 30s, 500ms, 2m, 1h or 7d");
    }

    @Test
    void refusesWhatWouldOverflowATimerInsteadOfWrapping() {
        assertThat(Durations.parse("3650d")).isEqualTo(Durations.MAX);
        for (String text : new String[] {"3651d", "87601h", "999999999d", "9999999999s", "9223372036854775807s"}) {
            assertThatThrownBy(() -> Durations.parse(text)).as(text).isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> Durations.parse("3651d")).hasMessage("'3651d' is too long: at most 3650d");
    }

    @Test
    void formatsInTheLargestUnitsPeopleRead() {
        assertThat(Durations.format(Duration.ofHours(12))).isEqualTo("12 h");
        assertThat(Durations.format(Duration.ofMinutes(90))).isEqualTo("1 h 30 min");
        assertThat(Durations.format(Duration.ofSeconds(45))).isEqualTo("45 s");
        assertThat(Durations.format(Duration.ofMillis(250))).isEqualTo("250 ms");
        assertThat(Durations.format(Duration.ofSeconds(3600))).isEqualTo("1 h");
        assertThat(Durations.format(Duration.ofDays(7))).isEqualTo("7 d");
        assertThat(Durations.format(Duration.ofDays(2).plusHours(3).plusSeconds(4))).isEqualTo("2 d 3 h 4 s");
        assertThat(Durations.format(Duration.ofMinutes(5))).isEqualTo("5 min");
    }

    @Test
    void formatsPartsOfASecondAndNothing() {
        assertThat(Durations.format(Duration.ofMillis(1500))).isEqualTo("1.5 s");
        assertThat(Durations.format(Duration.ofMillis(59_250))).isEqualTo("59.25 s");
        assertThat(Durations.format(Duration.ofMinutes(1).plusMillis(250))).as("rounded from a minute on").isEqualTo("1 min");
        assertThat(Durations.format(Duration.ofHours(1).minusMillis(3))).isEqualTo("1 h");
        assertThat(Durations.format(Duration.ofMillis(1))).isEqualTo("1 ms");
        assertThat(Durations.format(Duration.ofNanos(1))).isEqualTo("<1 ms");
        assertThat(Durations.format(Duration.ZERO)).isEqualTo("0 s");
        assertThat(Durations.format(Duration.ofSeconds(-90))).isEqualTo("-1 min 30 s");
    }

    /** The rounding to the second, and the sign, work up to the longest and the least duration there is. */
    @Test
    void formatsTheLongestAndTheLeastDurationWithoutOverflowing() {
        long days = Long.MAX_VALUE / 86_400;
        String longest = days + " d 15 h 30 min 7 s";
        assertThat(Durations.format(Duration.ofSeconds(Long.MAX_VALUE, 999_999_999))).isEqualTo(longest);
        assertThat(Durations.format(Duration.ofSeconds(Long.MAX_VALUE, 500_000_000))).isEqualTo(longest);
        assertThat(Durations.format(Duration.ofSeconds(Long.MAX_VALUE - 1, 500_000_000))).isEqualTo(longest);
        assertThat(Durations.format(Duration.ofSeconds(Long.MAX_VALUE))).isEqualTo(longest);
        assertThat(Durations.format(Duration.ofSeconds(Long.MIN_VALUE))).isEqualTo("-" + longest);
        assertThat(Durations.format(Duration.ofSeconds(Long.MIN_VALUE, 1))).isEqualTo("-" + longest);
    }

    @Test
    void formatsWhatItParsesBackAsTheSameDuration() {
        for (String text : new String[] {"500ms", "30s", "2m", "1h", "7d", "3650d"}) {
            String formatted = Durations.format(Durations.parse(text));
            assertThat(Durations.parse(formatted.replace(" min", "m").replace(" ", ""))).as(formatted)
                    .isEqualTo(Durations.parse(text));
        }
    }
}
