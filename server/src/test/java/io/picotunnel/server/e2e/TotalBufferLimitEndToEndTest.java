package io.picotunnel.server.e2e;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.TcpTarget;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A real server with two real tunnel clients, each with a tcp service whose target sends 16 MiB at once to visitors
 * that read nothing: the server holds up to a stream window (256 KiB, fixed) for each, at least half of it (credit
 * goes back once half a window was taken). Each client connection may hold eight windows
 * ({@code --session-buffer-limit}), all of them together two and a half ({@code --total-buffer-limit}): the first
 * client's six streams pass the total, and it pays; the second client's stream, which comes on top, still gets all its
 * data, since the first connection holds the most whenever the total is over. What both hold comes back to 0 when the
 * visitors leave and when the first client's connection is lost mid-transfer.
 */
class TotalBufferLimitEndToEndTest {

    private static final int WINDOW = YamuxConfig.INITIAL_STREAM_WINDOW;
    private static final long TOTAL = 5L * WINDOW / 2;
    private static final int SENT = 16 << 20;
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path dataDir;

    private final List<Socket> visitors = new ArrayList<>();
    private final List<TcpTarget> targets = new ArrayList<>();
    private Testbed testbed;

    @AfterEach
    void stop() throws IOException {
        for (Socket visitor : visitors) {
            visitor.close();
        }
        if (testbed != null) {
            testbed.close();
        }
        targets.forEach(TcpTarget::close);
    }

    @Test
    void theClientConnectionHoldingTheMostPaysAndTheOtherKeepsItsStream() throws Exception {
        testbed = new Testbed(dataDir, Map.of(Setting.TOTAL_BUFFER_LIMIT, Long.toString(TOTAL),
                Setting.SESSION_BUFFER_LIMIT, Integer.toString(8 * WINDOW),
                Setting.MAX_STREAM_WINDOW, Integer.toString(WINDOW)));
        Service full = service("full");
        Service small = service("small");
        try (LogCapture log = new LogCapture(YamuxSession.class, Level.WARN)) {
            for (int i = 0; i < 6; i++) {
                visitors.add(visit(full.port));
            }
            await().atMost(WAIT).until(() -> !log.messages(Level.WARN).isEmpty());
            assertThat(log.messages(Level.WARN)).first().asString()
                    .contains("the most of all connections", "over the limit of " + TOTAL, "(--total-buffer-limit)");
        }
        Socket kept = visit(small.port);
        visitors.add(kept);
        // Not a whole window: credit goes back once half of one was taken, before the visitor's socket filled.
        await().atMost(WAIT).until(() -> held(small.session) >= WINDOW / 2);
        // Read on two loops one after the other: a reset the small stream's last frame asked of the first connection
        // may still be queued on its loop, so the two are within the total only once it ran.
        await().atMost(WAIT).until(() -> held(full.session) + held(small.session) <= TOTAL);
        assertThat(readToEnd(kept)).as("what the visitor of the connection holding the least got").isEqualTo(SENT);

        kept.close();
        await().atMost(WAIT).until(() -> held(small.session) == 0);
        full.session.parent().close(); // the first client's connection lost, its visitors still there
        await().atMost(WAIT).until(() -> held(full.session) == 0);
    }

    private record Service(int port, YamuxSession session) {
    }

    private Service service(String name) {
        JsonNode tunnel = testbed.createTunnel(name);
        String tunnelId = tunnel.get("id").asText();
        testbed.connect(tunnelId, tunnel.get("token").asText());
        TcpTarget target = TcpTarget.sendThenReceive(SENT);
        targets.add(target);
        int port = testbed.createTcpServiceOnFreePort(tunnelId, target.address()).port();
        return new Service(port, testbed.server().registry().connections(tunnelId).getFirst().session());
    }

    /** A visitor that reads nothing until asked, with a small receive buffer. */
    private static Socket visit(int port) throws IOException {
        Socket visitor = new Socket();
        visitor.setReceiveBufferSize(4096);
        visitor.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 10_000);
        return visitor;
    }

    private static long readToEnd(Socket visitor) throws IOException {
        visitor.setSoTimeout((int) WAIT.toMillis());
        InputStream in = visitor.getInputStream();
        byte[] buffer = new byte[64 * 1024];
        long total = 0;
        for (int n; total < SENT && (n = in.read(buffer)) > 0; ) {
            total += n;
        }
        return total;
    }

    private static long held(YamuxSession session) throws Exception {
        return session.parent().eventLoop().submit(session::inboundHeld).get(10, TimeUnit.SECONDS);
    }
}
