package io.picotunnel.server.api;

import io.javalin.Javalin;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.net.LimitedBody;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * What a client still sends after Jetty refused its request head is dropped for its drop time in all
 * ({@link LimitedBody#DROP_TIME} on the management port), as the rest of every other body answered early: not cut by
 * the header timeout (a short one here), not longer (a drop time short enough to test).
 */
class BadRequestHeadDropTimeTest {

    private static final Duration HEADER_TIMEOUT = Duration.ofSeconds(1);
    private static final Duration DROP_TIME = Duration.ofSeconds(2);
    private static final byte[] SPACE = {' '};

    @RegisterExtension
    final ApiTestServer running = new ApiTestServer(Map.of(Setting.HEADER_TIMEOUT, "1s"));

    @Test
    void whatComesAfterARefusedHeadIsDroppedPastTwiceTheHeaderTimeout() throws IOException {
        Duration watched = HEADER_TIMEOUT.multipliedBy(4);
        try (Socket socket = refusedHead(running.server().apiPort())) {
            OutputStream out = socket.getOutputStream();

            // A byte each 200 ms, each well within every timeout: every one taken for as long as watched.
            await().during(watched).atMost(watched.plusSeconds(2)).pollInterval(Duration.ofMillis(200))
                    .until(() -> RefusedHead.written(out, SPACE));
        }
    }

    /** A byte every 200 ms, each well within the idle timeout: closed once dropped for the drop time. */
    @Test
    void aClientTricklingAfterARefusedHeadIsClosedAfterTheDropTime() throws IOException {
        Duration bound = DROP_TIME.plusSeconds(3);
        Javalin app = lingeringApp();
        try (Socket socket = refusedHead(app.port())) {
            OutputStream out = socket.getOutputStream();
            long start = System.nanoTime();

            await().atMost(bound).pollInterval(Duration.ofMillis(200)).until(() -> !RefusedHead.written(out, SPACE));

            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThan(DROP_TIME.minusSeconds(1));
        } finally {
            app.stop();
        }
    }

    /** A loopback app on the management port's connections, {@link LingeringHttpConnection}, with {@code DROP_TIME}. */
    private static Javalin lingeringApp() {
        return Javalin.create(config -> {
            config.startup.showJavalinBanner = false;
            config.jetty.addConnector((server, http) -> {
                ServerConnector connector = new ServerConnector(server, new LingeringHttpConnection.Factory(http,
                        DROP_TIME));
                connector.setHost("127.0.0.1");
                connector.setPort(0);
                return connector;
            });
        }).start();
    }

    /** A connection whose head (headers too large, a body announced) got its 431, read up to the server's half-close. */
    private static Socket refusedHead(int port) throws IOException {
        Socket socket = new Socket(InetAddress.getLoopbackAddress(), port);
        socket.setSoTimeout(10_000);
        socket.getOutputStream().write(("POST /api/tunnels HTTP/1.1\r\nHost: localhost\r\n" + BadRequestHeadTest.TOO_LARGE
                + "Content-Length: " + LimitedBody.DROPPED_BYTES + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
        assertThat(answer).startsWith("HTTP/1.1 431 ");
        return socket;
    }
}
