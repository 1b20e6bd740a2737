package io.picotunnel.server.net;

import ch.qos.logback.classic.Level;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.time.Duration;

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

    @Test
    void keysBeyondTheBoundDropTheLeastRecentlyRefused() {
        try (LogCapture capture = new LogCapture(KeyedRefusalLogTest.class, Level.INFO)) {
            KeyedRefusalLog log = new KeyedRefusalLog(LoggerFactory.getLogger(KeyedRefusalLogTest.class),
                    Duration.ofHours(1), 3);
            for (int i = 0; i < 100; i++) {
                log.refused("tunnel " + i, false, "refused " + i);
            }
            log.refused("tunnel 99", false, "refused 99 again");

            assertThat(log.keys()).isEqualTo(3);
            assertThat(capture.messages(Level.INFO)).hasSize(100).doesNotContain("refused 99 again");
        }
    }

    /** More keys busy at once than are tracked: the refusals a dropped key had not logged are told in the next line. */
    @Test
    void theCountOfADroppedKeysRefusalsNotLoggedGoesIntoTheNextLine() {
        try (LogCapture capture = new LogCapture(KeyedRefusalLogTest.class, Level.INFO)) {
            KeyedRefusalLog log = new KeyedRefusalLog(LoggerFactory.getLogger(KeyedRefusalLogTest.class),
                    Duration.ofHours(1), 2);
            for (int i = 0; i < 5; i++) {
                log.refused("tunnel a", true, "a refused");
                log.refused("tunnel b", true, "b refused");
            }
            log.refused("tunnel c", true, "c refused"); // drops a, 4 not logged
            log.refused("tunnel d", true, "d refused"); // drops b, 4 not logged
            log.refused("tunnel e", true, "e refused"); // drops c, nothing not logged
            log.refused("tunnel e", true, "e refused again");

            assertThat(capture.messages(Level.WARN)).containsExactly("a refused", "b refused",
                    "c refused (and 4 refusals not logged of 1 other no longer tracked: at most 2 are tracked at once)",
                    "d refused (and 4 refusals not logged of 1 other no longer tracked: at most 2 are tracked at once)",
                    "e refused");

            log.refused("tunnel f", true, "f refused"); // drops d, nothing not logged
            log.refused("tunnel g", true, "g refused"); // drops e, 1 not logged
            assertThat(capture.messages(Level.WARN)).endsWith("f refused", "g refused (and 1 refusal not logged of 1"
                    + " other no longer tracked: at most 2 are tracked at once)");
        }
    }
}
