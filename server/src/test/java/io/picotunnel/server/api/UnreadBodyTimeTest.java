package io.picotunnel.server.api;

import io.picotunnel.server.config.Setting;
import io.picotunnel.server.net.LimitedBody;
import io.picotunnel.server.net.PacedBody;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The rest of a body answered before it was read is read and dropped for a bounded time in all, as nginx's
 * {@code lingering_time}. The header timeout is set long, so that it cannot be what closes the connection (it does
 * not: {@link DrainHeaderTimeoutTest}).
 */
class UnreadBodyTimeTest {

    @RegisterExtension
    final ApiTestServer running = new ApiTestServer(Map.of(Setting.HEADER_TIMEOUT, "5m"));

    /**
     * A client that sends its body a byte every half second, each well within the idle timeout, is closed once the
     * rest of the body was read for {@link LimitedBody#DROP_TIME}, not after the whole MiB (six days at that pace).
     */
    @Test
    void aClientTricklingItsBodyIsClosedAfterTheDropTime() throws IOException {
        Duration bound = LimitedBody.DROP_TIME.plusSeconds(15);
        Duration pace = Duration.ofMillis(500);
        PacedBody trickle = PacedBody.aSpaceEvery(pace, bound.dividedBy(pace) + 1, bound);
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), running.server().apiPort())) {
            PacedBody.Outcome sent = trickle.send(socket, "POST /api/tunnels HTTP/1.1\r\nHost: localhost\r\n"
                    + "Content-Type: application/json\r\nContent-Length: " + LimitedBody.DROPPED_BYTES + "\r\n\r\n{}");

            assertThat(sent.answer()).startsWith("HTTP/1.1 401 ");
            assertThat(sent.closed()).as("connection closed within %s (%s passed)", bound, sent.took()).isTrue();
            assertThat(sent.took()).isLessThan(bound);
        }
    }

}
