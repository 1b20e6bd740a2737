package io.picotunnel.server.net;

import ch.qos.logback.classic.Level;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class KeyedRefusalLogTest {

    @Test
    void eachKeyHasItsOwnIntervalAndTheSameKeyTwiceLogsOnce() {
        try (LogCapture capture = new LogCapture(KeyedRefusalLogTest.class, Level.INFO)) {
            KeyedRefusalLog log = new KeyedRefusalLog(LoggerFactory.getLogger(KeyedRefusalLogTest.class));

            log.refused("a", true, "a refused");
            log.refused("b", true, "b refused");
            log.refused("a", true, "a refused again");

            assertThat(capture.messages(Level.WARN)).containsExactly("a refused", "b refused");
        }
    }

    /** Failures of our own: a line of each kind with its stack trace, though another kind had one this interval. */
    @Test
    void aFailureOfAnotherKindHasItsWarningWithTheStackTraceWithinTheIntervalAndKindsStayBounded() {
        try (LogCapture capture = new LogCapture(KeyedRefusalLogTest.class, Level.INFO)) {
            AtomicLong clock = new AtomicLong();
            KeyedRefusalLog log = new KeyedRefusalLog(LoggerFactory.getLogger(KeyedRefusalLogTest.class),
                    Duration.ofHours(1), 3, clock::get);
            for (int i = 0; i < 3; i++) {
                log.failed("kind a", () -> "a failed", new IllegalStateException("a"));
            }
            log.failed("kind b", () -> "b failed", new UnsupportedOperationException("b"));
            for (int i = 0; i < 100; i++) {
                log.failed("kind " + i, () -> "failed", new IllegalArgumentException("many"));
            }

            assertThat(capture.events()).hasSize(4).allSatisfy(event -> {
                assertThat(event.getLevel()).isEqualTo(Level.WARN);
                assertThat(event.getThrowableProxy()).as("the stack trace").isNotNull();
            });
            assertThat(capture.events().get(1).getThrowableProxy().getClassName())
                    .isEqualTo(UnsupportedOperationException.class.getName());
            assertThat(capture.messages(Level.WARN)).startsWith("a failed", "b failed");
            assertThat(log.keys()).isEqualTo(3);
        }
    }

    /** Lines for failures count failures: those of a dropped kind, and those an overflow line stands for. */
    @Test
    void linesOfFailuresCountFailuresNotRefusals() {
        try (LogCapture capture = new LogCapture(KeyedRefusalLogTest.class, Level.INFO)) {
            AtomicLong clock = new AtomicLong();
            KeyedRefusalLog log = new KeyedRefusalLog(LoggerFactory.getLogger(KeyedRefusalLogTest.class),
                    Duration.ofHours(1), 1, clock::get);
            for (String kind : new String[] {"a", "b", "b", "b", "a", "a"}) {
                log.failed("kind " + kind, () -> kind + " failed", new IllegalStateException(kind));
            }
            clock.addAndGet(Duration.ofHours(1).toNanos());
            log.failed("kind c", () -> "c failed", new IllegalStateException("c")); // a's interval is over: dropped
            log.failed("kind d", () -> "d failed", new IllegalStateException("d")); // c's is not: the overflow's line

            assertThat(capture.messages(Level.WARN)).containsExactly("a failed",
                    "b failed (beyond the 1 tracked at once: those beyond share one line per 1 h)",
                    "c failed (and 2 failures not logged of 1 other no longer tracked: at most 1 are tracked at once)",
                    "d failed (beyond the 1 tracked at once: those beyond share one line per 1 h; this line stands for"
                            + " 3 failures of more than 1 of them since the last such line)");
        }
    }

    /** Keys within their interval are kept: a new key beyond the bound goes to the one overflow line instead. */
    @Test
    void keysBeyondTheBoundShareOneLineWhileTheTrackedAreWithinTheirInterval() {
        try (LogCapture capture = new LogCapture(KeyedRefusalLogTest.class, Level.INFO)) {
            AtomicLong clock = new AtomicLong();
            KeyedRefusalLog log = new KeyedRefusalLog(LoggerFactory.getLogger(KeyedRefusalLogTest.class),
                    Duration.ofHours(1), 3, clock::get);
            for (int i = 0; i < 100; i++) {
                log.refused("tunnel " + i, false, "refused " + i);
            }
            log.refused("tunnel 99", false, "refused 99 again");

            assertThat(log.keys()).isEqualTo(3);
            assertThat(capture.messages(Level.INFO)).containsExactly("refused 0", "refused 1", "refused 2",
                    "refused 3 (beyond the 3 tracked at once: those beyond share one line per 1 h)");

            clock.addAndGet(Duration.ofHours(1).toNanos());
            log.refused("tunnel 100", false, "refused 100"); // takes the place of tunnel 0, whose interval is over
            log.refused("tunnel 100", false, "refused 100 again");
            log.refused("tunnel 101", false, "refused 101");
            log.refused("tunnel 102", false, "refused 102");
            log.refused("tunnel 103", false, "refused 103"); // the tracked are within their interval again

            assertThat(log.keys()).isEqualTo(3);
            assertThat(capture.messages(Level.INFO)).hasSize(8).endsWith("refused 100", "refused 101", "refused 102",
                    "refused 103 (beyond the 3 tracked at once: those beyond share one line per 1 h; this line stands"
                            + " for 98 refusals of more than 3 of them since the last such line)");
        }
    }

    /** However many keys are refused in turn, one interval has at most a line per tracked key and one beyond them. */
    @Test
    void fiveThousandKeysRefusedInTurnWithinAMinuteWriteAtMostALinePerTrackedKeyAndOneMore() {
        try (LogCapture capture = new LogCapture(KeyedRefusalLogTest.class, Level.INFO)) {
            AtomicLong clock = new AtomicLong();
            KeyedRefusalLog log = new KeyedRefusalLog(LoggerFactory.getLogger(KeyedRefusalLogTest.class),
                    RefusalLog.DEFAULT_INTERVAL, KeyedRefusalLog.MAX_KEYS, clock::get);
            for (int round = 0; round < 2; round++) {
                for (int i = 0; i < 5000; i++) {
                    log.refused("tunnel " + i, true, "refused " + i);
                    clock.addAndGet(Duration.ofMillis(5).toNanos()); // 10,000 refusals in 50 s
                }
            }

            assertThat(capture.messages(Level.WARN)).hasSize(KeyedRefusalLog.MAX_KEYS + 1)
                    .endsWith("refused 1024 (beyond the 1024 tracked at once: those beyond share one line per 1 min)");
            assertThat(log.keys()).isEqualTo(KeyedRefusalLog.MAX_KEYS);
        }
    }

    /** More keys refused than are tracked: the refusals a dropped key had not logged are told in the next line. */
    @Test
    void theCountOfADroppedKeysRefusalsNotLoggedGoesIntoTheNextLine() {
        try (LogCapture capture = new LogCapture(KeyedRefusalLogTest.class, Level.INFO)) {
            AtomicLong clock = new AtomicLong();
            KeyedRefusalLog log = new KeyedRefusalLog(LoggerFactory.getLogger(KeyedRefusalLogTest.class),
                    Duration.ofHours(1), 2, clock::get);
            for (int i = 0; i < 5; i++) {
                log.refused("tunnel a", true, "a refused");
                log.refused("tunnel b", true, "b refused");
            }
            clock.addAndGet(Duration.ofHours(1).toNanos());
            log.refused("tunnel c", true, "c refused"); // drops a, 4 not logged
            log.refused("tunnel d", true, "d refused"); // drops b, 4 not logged
            log.refused("tunnel e", true, "e refused"); // c and d are within their interval
            log.refused("tunnel e", true, "e refused again");

            assertThat(capture.messages(Level.WARN)).containsExactly("a refused", "b refused",
                    "c refused (and 4 refusals not logged of 1 other no longer tracked: at most 2 are tracked at once)",
                    "d refused (and 4 refusals not logged of 1 other no longer tracked: at most 2 are tracked at once)",
                    "e refused (beyond the 2 tracked at once: those beyond share one line per 1 h)");

            clock.addAndGet(Duration.ofHours(1).toNanos());
            log.refused("tunnel f", true, "f refused"); // drops c, nothing not logged
            log.refused("tunnel g", true, "g refused"); // drops d, nothing not logged
            log.refused("tunnel h", true, "h refused"); // f and g are within their interval
            assertThat(capture.messages(Level.WARN)).endsWith("f refused", "g refused", "h refused (beyond the 2 tracked"
                    + " at once: those beyond share one line per 1 h; this line stands for 2 refusals of 2 of them since"
                    + " the last such line)");
        }
    }

    /** The key refused least recently is not always the one whose interval ends first: any ended one makes room. */
    @Test
    void aTrackedKeyWhoseIntervalIsOverMakesRoomForANewKeyThoughAnotherWasRefusedLessRecently() {
        try (LogCapture capture = new LogCapture(KeyedRefusalLogTest.class, Level.INFO)) {
            AtomicLong clock = new AtomicLong();
            KeyedRefusalLog log = new KeyedRefusalLog(LoggerFactory.getLogger(KeyedRefusalLogTest.class),
                    Duration.ofHours(1), 2, clock::get);
            log.refused("tunnel a", true, "a refused"); // a's interval ends at 60 min
            clock.addAndGet(Duration.ofMinutes(30).toNanos());
            log.refused("tunnel b", true, "b refused"); // b's at 90 min
            clock.addAndGet(Duration.ofMinutes(20).toNanos());
            log.refused("tunnel a", true, "a refused again"); // counted: a is now the one refused most recently
            clock.addAndGet(Duration.ofMinutes(20).toNanos());
            log.refused("tunnel c", true, "c refused"); // at 70 min: a's interval is over, b's is not

            assertThat(capture.messages(Level.WARN)).containsExactly("a refused", "b refused",
                    "c refused (and 1 refusal not logged of 1 other no longer tracked: at most 2 are tracked at once)");
            assertThat(log.keys()).isEqualTo(2);
        }
    }

    /** The overflow line counts the refusals it stands for and the keys they were of, not the refusals alone. */
    @Test
    void theOverflowLineSaysHowManyRefusalsOfHowManyKeysItStandsFor() {
        try (LogCapture capture = new LogCapture(KeyedRefusalLogTest.class, Level.INFO)) {
            AtomicLong clock = new AtomicLong();
            KeyedRefusalLog log = new KeyedRefusalLog(LoggerFactory.getLogger(KeyedRefusalLogTest.class),
                    Duration.ofHours(1), 4, clock::get);
            for (String key : new String[] {"a", "b", "c", "d", "e", "f", "g", "f", "h", "f"}) {
                log.refused("tunnel " + key, true, key + " refused"); // a to d tracked, e the overflow's line
            }
            clock.addAndGet(Duration.ofHours(1).toNanos());
            for (String key : new String[] {"a", "b", "c", "d"}) {
                log.refused("tunnel " + key, true, key + " refused again"); // their new intervals: no room for i
            }
            log.refused("tunnel i", true, "i refused");

            assertThat(capture.messages(Level.WARN)).hasSize(10).contains(
                    "e refused (beyond the 4 tracked at once: those beyond share one line per 1 h)").endsWith(
                    "i refused (beyond the 4 tracked at once: those beyond share one line per 1 h; this line stands for"
                            + " 6 refusals of 4 of them since the last such line)");
        }
    }

    /** The keys an overflow line counts are remembered up to the bound, so their memory is bounded too. */
    @Test
    void theOverflowLineCountsKeysUpToTheBoundAndSaysMoreBeyondIt() {
        try (LogCapture capture = new LogCapture(KeyedRefusalLogTest.class, Level.INFO)) {
            AtomicLong clock = new AtomicLong();
            KeyedRefusalLog log = new KeyedRefusalLog(LoggerFactory.getLogger(KeyedRefusalLogTest.class),
                    Duration.ofHours(1), 2, clock::get);
            for (int i = 0; i < 10; i++) {
                log.refused("tunnel " + i, true, i + " refused");
            }
            clock.addAndGet(Duration.ofHours(1).toNanos());
            log.refused("tunnel 0", true, "0 refused again");
            log.refused("tunnel 1", true, "1 refused again");
            log.refused("tunnel 10", true, "10 refused");

            assertThat(capture.messages(Level.WARN)).endsWith("10 refused (beyond the 2 tracked at once: those beyond"
                    + " share one line per 1 h; this line stands for 8 refusals of more than 2 of them since the last such"
                    + " line)");
        }
    }

    /** Ten refusals of each of two keys within a minute, and ten beyond the bound: a message built per line only. */
    @Test
    void aRefusalOnlyCountedBuildsNoMessage() {
        try (LogCapture capture = new LogCapture(KeyedRefusalLogTest.class, Level.INFO)) {
            KeyedRefusalLog log = new KeyedRefusalLog(LoggerFactory.getLogger(KeyedRefusalLogTest.class),
                    Duration.ofMinutes(1), 2);
            AtomicInteger built = new AtomicInteger();
            for (int i = 0; i < 10; i++) {
                for (String key : new String[] {"a", "b", "c " + i}) {
                    log.refused(key, true, () -> key + " refused " + built.incrementAndGet());
                }
            }
            assertThat(capture.messages(Level.WARN)).hasSize(3);
            assertThat(built).hasValue(3);
        }
    }
}
