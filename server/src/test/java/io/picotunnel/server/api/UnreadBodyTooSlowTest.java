package io.picotunnel.server.api;

import io.picotunnel.server.net.LimitedBody;
import io.picotunnel.server.net.LoopbackApp;
import io.picotunnel.server.net.PacedBody;
import io.picotunnel.server.net.ReadingHandler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A body that did not come within its read time gets its 408 and its connection closes: the rest is not read and
 * dropped for the drop time after the answer, as for other answers given before the body's end
 * ({@link LimitedBody.TooSlow#answered}).
 */
class UnreadBodyTooSlowTest {

    private static final Duration READ_TIME = Duration.ofSeconds(1);

    @RegisterExtension
    final LoopbackApp app = new LoopbackApp(
            () -> DrainedApp.start(LimitedBody.DROP_TIME, ReadingHandler.within(READ_TIME)));

    @Test
    void aBodyTooSlowIsAnsweredAndClosedWithoutDroppingItsRest() throws IOException {
        Duration bound = READ_TIME.plusSeconds(4);
        PacedBody.Outcome sent = PacedBody.aSpaceEvery(Duration.ofMillis(200), bound)
                .sendTo(app.port(), "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n");

        assertThat(sent.answer()).startsWith("HTTP/1.1 408 ");
        assertThat(sent.closed()).as("connection closed within %s (%s passed)", bound, sent.took()).isTrue();
    }
}
