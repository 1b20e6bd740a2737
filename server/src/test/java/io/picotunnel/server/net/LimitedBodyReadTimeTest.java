package io.picotunnel.server.net;

import io.picotunnel.protocol.config.Durations;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A body read by {@link LimitedBody} comes within its read time in all, or the read ends with {@link LimitedBody.TooSlow}:
 * a client trickling its body, each byte well within the idle timeout, no longer holds the request's thread until the
 * whole body came. Served by Jetty through Javalin as the management port is, with a read time short enough to test.
 */
class LimitedBodyReadTimeTest {

    private static final Duration READ_TIME = Duration.ofSeconds(2);

    @RegisterExtension
    final LoopbackApp app = new LoopbackApp(() -> PostOnlyApp.start(ReadingHandler.within(READ_TIME)));

    @Test
    void aBodyTrickledPastItsReadTimeEndsTheReadThen() throws IOException {
        Duration bound = READ_TIME.plusSeconds(5);
        // The trickle under test: a byte each 200 ms, within any idle timeout.
        PacedBody.Outcome sent = PacedBody.aSpaceEvery(Duration.ofMillis(200), bound)
                .sendTo(app.port(), "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n");

        assertThat(sent.answer()).startsWith("HTTP/1.1 408 ")
                .contains("did not arrive within " + Durations.format(READ_TIME) + " in all");
        assertThat(sent.closed()).as("connection closed within %s (%s passed)", bound, sent.took()).isTrue();
        assertThat(sent.took()).isGreaterThanOrEqualTo(READ_TIME).isLessThan(bound);
    }

    @Test
    void aBodyThatComesInTimeIsReadWhole() throws IOException {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), app.port())) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(("POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n"
                    + "Connection: close\r\n\r\n" + "x".repeat(1000)).getBytes(StandardCharsets.ISO_8859_1));

            String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);

            assertThat(answer).startsWith("HTTP/1.1 200 ").endsWith("read 1000");
        }
    }
}
