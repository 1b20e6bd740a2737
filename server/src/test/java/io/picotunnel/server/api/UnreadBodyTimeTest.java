package io.picotunnel.server.api;

import io.picotunnel.server.net.LimitedBody;
import io.picotunnel.server.net.LoopbackApp;
import io.picotunnel.server.net.PacedBody;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The rest of a body answered before it was read is read and dropped for a bounded time in all, as nginx's
 * {@code lingering_time}: {@link LimitedBody#DROP_TIME} on the management port, a drop time short enough to test here.
 * No header timeout runs here, so that it cannot be what closes the connection (it does not on the port either:
 * {@link DrainHeaderTimeoutTest}).
 */
class UnreadBodyTimeTest {

    private static final Duration DROP_TIME = Duration.ofSeconds(2);

    @RegisterExtension
    final LoopbackApp app = new LoopbackApp(
            () -> DrainedApp.start(DROP_TIME, ctx -> ctx.status(401).result("sign in first")));

    /**
     * A client that sends its body a byte every 200 ms, each well within the idle timeout, is closed once the rest of
     * the body was read for the drop time, not after the whole MiB (two and a half days at that pace).
     */
    @Test
    void aClientTricklingItsBodyIsClosedAfterTheDropTime() throws IOException {
        Duration bound = DROP_TIME.plusSeconds(3);
        PacedBody.Outcome sent = PacedBody.aSpaceEvery(Duration.ofMillis(200), bound).sendTo(app.port(),
                "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + LimitedBody.DROPPED_BYTES + "\r\n\r\n{}");

        assertThat(sent.answer()).startsWith("HTTP/1.1 401 ").contains("sign in first");
        assertThat(sent.closed()).as("connection closed within %s (%s passed)", bound, sent.took()).isTrue();
        assertThat(sent.took()).isGreaterThanOrEqualTo(DROP_TIME).isLessThan(bound);
    }
}
