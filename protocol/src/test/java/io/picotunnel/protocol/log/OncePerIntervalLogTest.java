package io.picotunnel.protocol.log;

import ch.qos.logback.classic.Level;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class OncePerIntervalLogTest {

    private static final Duration INTERVAL = Duration.ofMinutes(1);

    private final AtomicLong clock = new AtomicLong();
    private final OncePerIntervalLog log =
            new OncePerIntervalLog(LoggerFactory.getLogger(OncePerIntervalLogTest.class), INTERVAL, clock::get);

    @Test
    void theFirstLineOfAnIntervalIsLoggedAndTheRestOnlyCountedIntoTheNextLine() {
        try (LogCapture capture = new LogCapture(OncePerIntervalLogTest.class, Level.INFO)) {
            List<Long> built = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                log.warn(skipped -> {
                    built.add(skipped);
                    return "line after " + skipped;
                });
                clock.addAndGet(INTERVAL.toNanos() / 10);
            }
            assertThat(built).as("only the logged line is built").containsExactly(0L);
            assertThat(log.unlogged()).isEqualTo(4);

            clock.addAndGet(INTERVAL.toNanos());
            log.info(skipped -> "line after " + skipped);

            assertThat(capture.messages(Level.WARN)).containsExactly("line after 0");
            assertThat(capture.messages(Level.INFO)).containsExactly("line after 4");
            assertThat(log.unlogged()).isZero();
        }
    }

    @Test
    void aLineIsDueAgainExactlyAnIntervalAfterTheLast() {
        clock.set(-5);
        assertThat(log.startLine(clock.get())).isZero();
        assertThat(log.within(-5 + INTERVAL.toNanos() - 1)).isTrue();
        assertThat(log.startLine(-5 + INTERVAL.toNanos() - 1)).isEqualTo(-1);
        assertThat(log.within(-5 + INTERVAL.toNanos())).isFalse();
        assertThat(log.startLine(-5 + INTERVAL.toNanos())).isEqualTo(1);
    }

    @Test
    void aWarnWithItsCauseCarriesTheStackTrace() {
        try (LogCapture capture = new LogCapture(OncePerIntervalLogTest.class, Level.INFO)) {
            IllegalStateException cause = new IllegalStateException("bug");
            log.warn(skipped -> "failed", cause);
            log.warn(skipped -> "failed again", cause);

            assertThat(capture.messages(Level.WARN)).containsExactly("failed");
            assertThat(capture.events()).singleElement()
                    .satisfies(e -> assertThat(e.getThrowableProxy().getMessage()).isEqualTo("bug"));
        }
    }

    /** An interval too long for nanoseconds fails at construction, not at the first line, leaving a log half-updated. */
    @Test
    void anIntervalTooLongForNanosecondsIsRefusedWhenBuilt() {
        assertThatThrownBy(() -> new OncePerIntervalLog(LoggerFactory.getLogger(OncePerIntervalLogTest.class),
                Duration.ofDays(365L * 300), clock::get)).isInstanceOf(ArithmeticException.class);
    }

    /** A zero or negative interval would limit nothing: every line written, a flood. */
    @Test
    void anIntervalThatIsNotPositiveIsRefused() {
        for (Duration interval : List.of(Duration.ZERO, Duration.ofSeconds(-1))) {
            assertThatThrownBy(() -> new OncePerIntervalLog(LoggerFactory.getLogger(OncePerIntervalLogTest.class),
                    interval, clock::get)).as(interval.toString()).isInstanceOf(IllegalArgumentException.class);
        }
    }
}
