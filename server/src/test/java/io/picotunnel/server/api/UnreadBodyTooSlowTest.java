package io.picotunnel.server.api;

import io.javalin.Javalin;
import io.picotunnel.server.net.LimitedBody;
import io.picotunnel.server.net.PacedBody;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A body that did not come within its read time gets its 408 and its connection closes: the rest is not read and
 * dropped for the drop time after the answer, as for other answers given before the body's end
 * ({@link LimitedBody.TooSlow#answered}).
 */
class UnreadBodyTooSlowTest {

    private static final Duration READ_TIME = Duration.ofSeconds(1);

    private Javalin app;

    @BeforeEach
    void start() {
        app = DrainedApp.start(LimitedBody.DROP_TIME, ctx -> {
            try {
                ctx.result("read " + LimitedBody.read(ctx.req(), READ_TIME).map(bytes -> bytes.length).orElse(-1));
            } catch (LimitedBody.TooSlow e) {
                ctx.status(e.answer(ctx.req(), ctx.res())).result(e.getMessage());
            }
        });
    }

    @AfterEach
    void stop() {
        app.stop();
    }

    @Test
    void aBodyTooSlowIsAnsweredAndClosedWithoutDroppingItsRest() throws IOException {
        Duration pace = Duration.ofMillis(200);
        Duration bound = READ_TIME.plusSeconds(4);
        PacedBody trickle = PacedBody.aSpaceEvery(pace, bound.dividedBy(pace) + 1, bound);
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), app.port())) {
            PacedBody.Outcome sent = trickle.send(socket, "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n");

            assertThat(sent.answer()).startsWith("HTTP/1.1 408 ");
            assertThat(sent.closed()).as("connection closed within %s (%s passed)", bound, sent.took()).isTrue();
        }
    }
}
