package io.picotunnel.protocol.yamux;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class YamuxConfigTest {

    @Test
    void eachWithMethodSetsItsOwnValueAndKeepsTheOthers() {
        TotalBufferBudget budget = new TotalBufferBudget(1L << 22);
        YamuxConfig expected = new YamuxConfig(1 << 20, Duration.ofSeconds(1), 7, Duration.ofSeconds(2), 1000,
                5000L, false, 1L << 21, Duration.ofSeconds(3), Duration.ofSeconds(4), Duration.ofSeconds(5), budget);

        YamuxConfig changed = YamuxConfig.defaults()
                .withMaxStreamWindow(1 << 20)
                .withKeepAliveInterval(Duration.ofSeconds(1))
                .withMaxStreams(7)
                .withStreamOpenTimeout(Duration.ofSeconds(2))
                .withWriteBufferHighWaterMark(1000)
                .withSessionWindowBudget(5000L)
                .withWindowAutoTuning(false)
                .withSessionBufferLimit(1L << 21)
                .withPingTimeout(Duration.ofSeconds(3))
                .withClosedStreamLinger(Duration.ofSeconds(4))
                .withStalledReaderTimeout(Duration.ofSeconds(5))
                .withTotalBufferBudget(budget);

        assertThat(changed).isEqualTo(expected);
    }

    @Test
    void aValueAWithMethodSetsIsCheckedLikeTheConstructorsOwn() {
        assertThatThrownBy(() -> YamuxConfig.defaults().withPingTimeout(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("pingTimeout must be positive");
        assertThatThrownBy(() -> YamuxConfig.defaults().withMaxStreamWindow(1024))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("maxStreamWindow must be at least 262144");
    }
}
