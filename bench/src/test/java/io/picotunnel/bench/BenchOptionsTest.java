package io.picotunnel.bench;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BenchOptionsTest {

    @Test
    void quickStartsFromTheSmokeSettingsAndLaterOptionsOverrideThem() {
        BenchOptions o = BenchOptions.parse(List.of("--size-mib", "16", "--quick", "--time", "3"));

        assertThat(o.quick()).isTrue();
        assertThat(o.sizeMiB()).isEqualTo(16);
        assertThat(o.iterationTime()).isEqualTo(Duration.ofSeconds(3));
        assertThat(o.forks()).isEqualTo(BenchOptions.quickDefaults().forks());
    }

    @Test
    void noOptionsGiveTheFullRun() {
        assertThat(BenchOptions.parse(List.of())).isEqualTo(BenchOptions.defaults());
    }

    @Test
    void badOptionsSayWhatIsWrong() {
        assertThatThrownBy(() -> BenchOptions.parse(List.of("--fast")))
                .hasMessage("unknown option --fast");
        assertThatThrownBy(() -> BenchOptions.parse(List.of("--streams")))
                .hasMessage("--streams needs a number");
        assertThatThrownBy(() -> BenchOptions.parse(List.of("--time", "soon")))
                .hasMessage("--time needs a number of seconds, not \"soon\"");
        assertThatThrownBy(() -> BenchOptions.parse(List.of("--forks", "-1")))
                .hasMessage("--forks must not be negative");
        assertThatThrownBy(() -> BenchOptions.parse(List.of("--size-mib", "1", "--streams", "4096")))
                .hasMessageContaining("less than 1 KiB per stream");
    }
}
