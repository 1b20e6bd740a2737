package io.picotunnel.testkit;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

class ManualClockTest {

    @Test
    void itsNanoTimeMovesByWhatTheClockIsAdvancedEvenBelowAMillisecond() {
        ManualClock clock = new ManualClock(Instant.parse("2026-12-07T12:00:00.000000001Z"));
        long before = clock.nanoTime();

        clock.advance(Duration.ofNanos(500_000));
        assertThat(clock.nanoTime() - before).isEqualTo(500_000);

        clock.advance(Duration.ofSeconds(61).plusNanos(1));
        assertThat(clock.nanoTime() - before).isEqualTo(61_000_500_001L);
    }
}
