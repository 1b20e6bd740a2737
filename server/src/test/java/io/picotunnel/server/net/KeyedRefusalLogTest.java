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
}
