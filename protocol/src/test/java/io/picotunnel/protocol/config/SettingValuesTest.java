package io.picotunnel.protocol.config;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SettingValuesTest {

    private static int threads(String value) {
        return SettingValues.resolve(TestSetting.class, Map.of(), Map.of("PICOTUNNEL_THREADS", value))
                .count(TestSetting.THREADS, 2, 8);
    }

    @Test
    void aCountInItsRangeIsTakenWithItsBoundsAndNothingElse() {
        assertThat(threads("2")).isEqualTo(2);
        assertThat(threads(" 8 ")).as("trimmed").isEqualTo(8);
        for (String bad : new String[] {"1", "9", "-2", "many", "2.5", "99999999999"}) {
            assertThatThrownBy(() -> threads(bad)).as(bad).isInstanceOf(ConfigException.class)
                    .hasMessage("Invalid --threads (PICOTUNNEL_THREADS): '" + bad + "' is not a whole number from 2 to 8.");
        }
    }

    /** Integer.parseInt reads other scripts' digits: Arabic-Indic 4 and a fullwidth 5 were taken as 4 and 5. */
    @Test
    void aCountInAnotherScriptsDigitsIsRefused() {
        for (String bad : new String[] {"\u0664", "\uff15", "+\u0664"}) {
            assertThatThrownBy(() -> threads(bad)).as(bad).isInstanceOf(ConfigException.class)
                    .hasMessage("Invalid --threads (PICOTUNNEL_THREADS): '" + bad + "' is not a whole number from 2 to 8.");
        }
        assertThat(threads("+4")).as("a sign, as Integer.parseInt takes it").isEqualTo(4);
    }

    @Test
    void aWrongCountIsQuotedWithItsControlCharactersWrittenOutAndCut() {
        assertThatThrownBy(() -> threads("4\nINFO forged\u202E")).isInstanceOf(ConfigException.class)
                .hasMessage("Invalid --threads (PICOTUNNEL_THREADS): '4\\nINFO forged\\u202e' is not a whole number"
                        + " from 2 to 8.");
        assertThatThrownBy(() -> threads("7".repeat(5000))).isInstanceOf(ConfigException.class)
                .hasMessageContaining("'" + "7".repeat(200) + "...(5000 chars)' is not a whole number");
    }

    @Test
    void aCountMadeInCodeIsCheckedByTheSameRule() {
        assertThat(SettingValues.count(TestSetting.THREADS, 2, 2, 8)).isEqualTo(2);
        assertThat(SettingValues.count(TestSetting.THREADS, 8, 2, 8)).isEqualTo(8);
        assertThatThrownBy(() -> SettingValues.count(TestSetting.THREADS, 9, 2, 8)).isInstanceOf(ConfigException.class)
                .hasMessage("Invalid --threads (PICOTUNNEL_THREADS): '9' is not a whole number from 2 to 8.");
        assertThatThrownBy(() -> SettingValues.count(TestSetting.THREADS, 1, 2, 8)).isInstanceOf(ConfigException.class)
                .hasMessage("Invalid --threads (PICOTUNNEL_THREADS): '1' is not a whole number from 2 to 8.");
    }

    @Test
    void aCountWithoutMaximumSaysAtLeastAlikeReadAndMadeInCode() {
        assertThatThrownBy(() -> SettingValues.resolve(TestSetting.class, Map.of(), Map.of("PICOTUNNEL_THREADS", "1"))
                .count(TestSetting.THREADS, 2)).isInstanceOf(ConfigException.class)
                .hasMessage("Invalid --threads (PICOTUNNEL_THREADS): '1' is not a whole number of at least 2.");
        assertThatThrownBy(() -> SettingValues.count(TestSetting.THREADS, 1, 2, Integer.MAX_VALUE))
                .isInstanceOf(ConfigException.class)
                .hasMessage("Invalid --threads (PICOTUNNEL_THREADS): '1' is not a whole number of at least 2.");
        assertThat(SettingValues.count(TestSetting.THREADS, Integer.MAX_VALUE, 2, Integer.MAX_VALUE))
                .isEqualTo(Integer.MAX_VALUE);
    }

    @Test
    void aDurationMadeInCodeIsCheckedByTheRuleOfOneRead() {
        assertThat(SettingValues.duration(TestSetting.WAIT, java.time.Duration.ZERO, true)).isZero();
        assertThatThrownBy(() -> SettingValues.duration(TestSetting.WAIT, java.time.Duration.ZERO, false))
                .isInstanceOf(ConfigException.class)
                .hasMessage("Invalid --wait (PICOTUNNEL_WAIT): it must be greater than zero.");
        assertThatThrownBy(() -> SettingValues.duration(TestSetting.WAIT, java.time.Duration.ofMillis(-1), true))
                .isInstanceOf(ConfigException.class)
                .hasMessage("Invalid --wait (PICOTUNNEL_WAIT): it must not be negative.");
    }
}
