package io.picotunnel.client.tunnel;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class TargetFailureLogTest {

    private final AtomicLong now = new AtomicLong(1_000);
    private final TargetFailureLog log = new TargetFailureLog(now::get);

    @Test
    void oneLinePerTargetAMinuteThenTheCountOfThoseLeftOut() {
        assertThat(log.admit("127.0.0.1:3000")).isZero();
        for (int i = 0; i < 500; i++) {
            assertThat(log.admit("127.0.0.1:3000")).isEqualTo(-1);
        }
        assertThat(log.admit("127.0.0.1:4000")).as("another target").isZero();

        now.addAndGet(TargetFailureLog.EVERY.toNanos());

        assertThat(log.admit("127.0.0.1:3000")).isEqualTo(500);
        assertThat(TargetFailureLog.leftOut(500)).contains("500 more failures");
        assertThat(log.admit("127.0.0.1:3000")).isEqualTo(-1);
        assertThat(TargetFailureLog.leftOut(0)).isEmpty();
    }

    @Test
    void targetsRememberedStayBounded() {
        for (int i = 0; i < TargetFailureLog.MAX_TARGETS * 3; i++) {
            assertThat(log.admit("10.0.0.1:" + i)).isZero();
        }
        assertThat(log.admit("10.0.0.1:" + (TargetFailureLog.MAX_TARGETS * 3 - 1))).isEqualTo(-1);
    }
}
