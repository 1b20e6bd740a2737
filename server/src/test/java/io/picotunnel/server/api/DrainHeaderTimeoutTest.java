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
 * The drop of a body's rest after its answer is bounded by its own time ({@link LimitedBody#DROP_TIME}), not by the
 * header timeout: the guard of the management port counted an answered request as ended, and closed the connection
 * being drained after two of its periods.
 */
class DrainHeaderTimeoutTest {

    private static final Duration HEADER_TIMEOUT = Duration.ofSeconds(1);

    @RegisterExtension
    final ApiTestServer running = new ApiTestServer(Map.of(Setting.HEADER_TIMEOUT, "1s"));

    @Test
    void aBodyStillComingAfterItsAnswerIsDroppedPastTwiceTheHeaderTimeout() throws IOException {
        Duration pace = Duration.ofMillis(200);
        Duration watched = HEADER_TIMEOUT.multipliedBy(4);
        // The body's rest, a byte each pace: each well within every timeout.
        PacedBody trickle = PacedBody.aSpaceEvery(pace, watched.dividedBy(pace) * 2 + 1, watched);
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), running.server().apiPort())) {
            PacedBody.Outcome sent = trickle.send(socket, "POST /api/tunnels HTTP/1.1\r\nHost: localhost\r\n"
                    + "Content-Type: application/json\r\nContent-Length: " + LimitedBody.MAX_BYTES + "\r\n\r\n{}");

            assertThat(sent.answer()).startsWith("HTTP/1.1 401 ");
            assertThat(sent.closed()).as("connection closed while its body was dropped, within %s", watched).isFalse();
        }
    }
}
