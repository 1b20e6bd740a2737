package io.picotunnel.server.api;

import io.picotunnel.server.config.Setting;
import io.picotunnel.server.net.LimitedBody;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
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
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), running.server().apiPort())) {
            socket.setSoTimeout((int) pace.toMillis());
            OutputStream out = socket.getOutputStream();
            out.write(("POST /api/tunnels HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + LimitedBody.MAX_BYTES + "\r\n\r\n{}").getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = socket.getInputStream();
            ByteArrayOutputStream answer = new ByteArrayOutputStream();
            byte[] buffer = new byte[4096];
            long deadline = System.nanoTime() + watched.toNanos();
            boolean closed = false;
            for (long i = 0; i <= watched.dividedBy(pace) * 2 && !closed && System.nanoTime() - deadline < 0; i++) {
                try {
                    int n = in.read(buffer);
                    if (n < 0) {
                        closed = true;
                    } else {
                        answer.write(buffer, 0, n);
                    }
                } catch (SocketTimeoutException nothingYet) {
                    try {
                        out.write(' '); // the body's rest, a byte each pace: each well within every timeout
                        out.flush();
                    } catch (IOException reset) {
                        closed = true;
                    }
                } catch (IOException reset) {
                    closed = true;
                }
            }

            assertThat(answer.toString(StandardCharsets.ISO_8859_1)).startsWith("HTTP/1.1 401 ");
            assertThat(closed).as("connection closed while its body was dropped, within %s", watched).isFalse();
        }
    }
}
