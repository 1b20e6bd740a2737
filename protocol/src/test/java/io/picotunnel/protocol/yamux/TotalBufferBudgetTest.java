package io.picotunnel.protocol.yamux;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TotalBufferBudgetTest {

    @Test
    void theDefaultIsHalfOfTheHeapOrOfTheDirectMemoryWhicheverIsLessNeverBelowAWindow() {
        assertThat(TotalBufferBudget.defaultLimit(4L << 30, 4L << 30)).isEqualTo(2L << 30);
        assertThat(TotalBufferBudget.defaultLimit(512L << 20, 4L << 30)).isEqualTo(256L << 20);
        assertThat(TotalBufferBudget.defaultLimit(4L << 30, 64L << 20)).as("-XX:MaxDirectMemorySize=64m")
                .isEqualTo(32L << 20);
        assertThat(TotalBufferBudget.defaultLimit(4L << 30, 256L << 10)).isEqualTo(YamuxSpec.INITIAL_STREAM_WINDOW);
    }

    @Test
    void aLimitIsZeroForNoneOrAtLeastAWindow() {
        assertThat(TotalBufferBudget.NONE.bounded()).isFalse();
        assertThat(YamuxConfig.defaults().totalBufferBudget()).isSameAs(TotalBufferBudget.NONE);
        assertThat(new TotalBufferBudget(YamuxSpec.INITIAL_STREAM_WINDOW).bounded()).isTrue();
        assertThatThrownBy(() -> new TotalBufferBudget(YamuxSpec.INITIAL_STREAM_WINDOW - 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least 262144");
    }
}
