package io.picotunnel.bench.tools;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MedianTest {

    @Test
    void isTheMiddleValueOrTheMeanOfTheMiddleTwo() {
        assertThat(Median.of(List.of(300.0, 100.0, 200.0))).isEqualTo(200);
        assertThat(Median.of(List.of(400.0, 100.0, 300.0, 200.0))).isEqualTo(250);
        assertThat(Median.of(List.of(7.5))).isEqualTo(7.5);
    }

    @Test
    void ofNoValuesIsAnError() {
        assertThatThrownBy(() -> Median.of(List.of())).isInstanceOf(IllegalArgumentException.class);
    }
}
