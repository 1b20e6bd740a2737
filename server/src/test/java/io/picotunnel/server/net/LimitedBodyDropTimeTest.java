package io.picotunnel.server.net;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The rest of a body answered early is dropped for its drop time in all, a read already waiting included: a client
 * that stalls after its answer is closed then, not at the idle timeout (Jetty's 30 s, here as on the management port)
 * after the drop began. Served by Jetty through Javalin as the management port is, with a drop time short enough to
 * test.
 */
class LimitedBodyDropTimeTest {

    private static final Duration DROP_TIME = Duration.ofSeconds(2);

    @RegisterExtension
    final LoopbackApp app = new LoopbackApp(() -> PostOnlyApp.start(ctx -> {
        byte[] answer = "sign in first".getBytes(StandardCharsets.UTF_8);
        ctx.res().setStatus(401);
        ctx.res().setContentLength(answer.length);
        ctx.res().getOutputStream().write(answer);
        ctx.res().flushBuffer();
        LimitedBody.dropRest(ctx.req(), LimitedBody.DROPPED_BYTES, DROP_TIME);
    }));

    @Test
    void aClientThatStallsAfterItsAnswerIsClosedAtTheDropTime() throws IOException {
        Duration pace = Duration.ofMillis(200);
        Duration bound = DROP_TIME.plusSeconds(3);
        // Part of the body with the head, then nothing more: the drop's read waits.
        PacedBody stall = new PacedBody(new byte[] {' '}, pace, 0, bound.dividedBy(pace) + 1, bound);
        PacedBody.Outcome sent = stall.sendTo(app.port(),
                "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n{\"token\": ");

        assertThat(sent.answer()).startsWith("HTTP/1.1 401 ").endsWith("sign in first");
        assertThat(sent.closed()).as("connection closed within %s (%s passed)", bound, sent.took()).isTrue();
        assertThat(sent.took()).isGreaterThanOrEqualTo(DROP_TIME).isLessThan(bound);
    }

    @Test
    void aBodyThatEndsIsDroppedAndTheConnectionServesTheNextRequest() throws IOException {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), app.port())) {
            socket.setSoTimeout(10_000);
            String request = "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n" + "x".repeat(1000);
            socket.getOutputStream().write((request + request.replace("Host:", "Connection: close\r\nHost:"))
                    .getBytes(StandardCharsets.ISO_8859_1));

            String answers = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);

            assertThat(answers.split("HTTP/1.1 401 ", -1)).hasSize(3);
        }
    }
}
