package io.picotunnel.server.net;

import ch.qos.logback.classic.Level;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class RefusalLogTest {

    @Test
    void firstRefusalIsLoggedAndTheRestCountedIntoTheNextIntervalsLine() {
        try (LogCapture capture = new LogCapture(RefusalLogTest.class, Level.INFO)) {
            RefusalLog log = new RefusalLog(LoggerFactory.getLogger(RefusalLogTest.class), Duration.ofMillis(200));
            for (int i = 0; i < 10; i++) {
                log.refused(true, "refused " + i);
            }
            assertThat(capture.messages(Level.WARN)).containsExactly("refused 0");
            await().atMost(Duration.ofSeconds(10)).until(() -> {
                log.refused(false, "refused later");
                return capture.messages(Level.INFO).size() == 1;
            });
            assertThat(capture.messages(Level.INFO).get(0)).startsWith("refused later (")
                    .containsPattern("\\((9|[1-9][0-9]+) more like this not logged")
                    .endsWith("; at most one line per 200 ms)");
        }
    }

    /** A flood's counted refusals built their whole message each, to be dropped (UntrustedProxyHint's, per request). */
    @Test
    void aRefusalOnlyCountedBuildsNoMessage() {
        try (LogCapture capture = new LogCapture(RefusalLogTest.class, Level.INFO)) {
            RefusalLog log = new RefusalLog(LoggerFactory.getLogger(RefusalLogTest.class), Duration.ofMinutes(1));
            AtomicInteger built = new AtomicInteger();
            for (int i = 0; i < 10; i++) {
                log.refused(true, () -> "refused " + built.incrementAndGet());
            }
            assertThat(capture.messages(Level.WARN)).containsExactly("refused 1");
            assertThat(built).hasValue(1);
        }
    }
}
