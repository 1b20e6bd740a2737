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
    void refusesWhatWouldOverflowATimerInsteadOfWrapping() {
        assertThat(Durations.parse("3650d")).isEqualTo(Durations.MAX);
        for (String text : new String[] {"3651d", "87601h", "999999999d", "9999999999s", "9223372036854775807s"}) {
            assertThatThrownBy(() -> Durations.parse(text)).as(text).isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> Durations.parse("3651d")).hasMessage("'3651d' is too long: at most 3650d");
    }
}
