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
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), running.server().apiPort())) {
            socket.setSoTimeout((int) pace.toMillis());
            OutputStream out = socket.getOutputStream();
            out.write(("POST /api/tunnels HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + LimitedBody.DROPPED_BYTES + "\r\n\r\n{}").getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = socket.getInputStream();
            ByteArrayOutputStream answer = new ByteArrayOutputStream();
            byte[] buffer = new byte[4096];
            long start = System.nanoTime();
            boolean closed = false;
            for (long i = 0; i <= bound.dividedBy(pace) && !closed; i++) {
                try {
                    int n = in.read(buffer);
                    if (n < 0) {
                        closed = true;
                    } else {
                        answer.write(buffer, 0, n);
                    }
                } catch (SocketTimeoutException nothingYet) {
                    try {
                        out.write(' ');
                        out.flush();
                    } catch (IOException reset) {
                        closed = true;
                    }
                } catch (IOException reset) {
                    closed = true;
                }
            }
            Duration took = Duration.ofNanos(System.nanoTime() - start);

            assertThat(answer.toString(StandardCharsets.ISO_8859_1)).startsWith("HTTP/1.1 401 ");
            assertThat(closed).as("connection closed within %s (%s passed)", bound, took).isTrue();
            assertThat(took).isLessThan(bound);
        }
    }

}
