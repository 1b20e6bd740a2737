package io.picotunnel.server.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.protocol.yamux.SessionLimits;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.server.monitor.TrafficCounters;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.server.tls.TestCertificates;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Uploads on one HTTP/2 connection to a target that reads none of their bodies, until everything on the way (the
 * tunnel stream's window, the client's socket buffers) is full and the server holds what it was sent: another stream
 * of the same connection still sends its body and gets its answer, and each stalled stream holds no more than its
 * window in the server. Real server, our client in process, socket targets, a visitor writing HTTP/2 frames by hand
 * over TLS.
 *
 * <p>Two stalled streams are enough to take a 64 KiB connection window, and few enough to fill the path behind the
 * server (some 4 MiB a stream, most of it the client's socket buffer to the target) within seconds.
 */
class Http2StalledUploadsEndToEndTest {

    private static final long MiB = 1024 * 1024;
    private static final String HOST = "uploads.test";
    private static final int STALLED_STREAMS = 2;
    private static final long BODY = 64 * MiB;
    private static final long FAST_BODY = 256 * 1024;
    private static final long STREAM_WINDOW = 65_535;
    /** Most body bytes a stalled stream may have the server hold: its window, and a piece on its way, to spare. */
    private static final long MAX_HELD_PER_STREAM = STREAM_WINDOW + 16 * 1024;

    @TempDir
    Path dataDir;

    private final TestCertificates ca = new TestCertificates();
    private Testbed testbed;
    private StallingUploadTarget target;
    private String tunnelId;

    @BeforeEach
    void start() throws IOException {
        TestCertificates.write(ca.issue(HOST), dataDir.resolve("certs"), HOST);
        testbed = new Testbed(dataDir);
        JsonNode tunnel = testbed.createTunnel("uploads");
        tunnelId = tunnel.get("id").asText();
        SessionLimits defaults = SessionLimits.DEFAULTS;
        testbed.startClient(tunnel.get("token").asText(), config -> config.withLimits(new SessionLimits(
                YamuxConfig.INITIAL_STREAM_WINDOW, defaults.sessionWindowBudget(), defaults.maxStreams(),
                defaults.sessionBufferLimit())));
        await().atMost(10, TimeUnit.SECONDS).until(() -> testbed.isConnected(tunnelId));
        target = new StallingUploadTarget();
        testbed.createService(tunnelId, "{\"type\":\"http\",\"domain\":\"" + HOST + "\",\"path_prefix\":\"/\","
                + "\"target_addr\":\"127.0.0.1:" + target.port() + "\"}");
    }

    @AfterEach
    void stop() throws IOException {
        testbed.close();
        if (target != null) {
            target.close();
        }
    }

    @Test
    void stalledUploadsLeaveTheConnectionWindowToAnotherStreamAndEachHoldsAtMostItsWindow() throws Exception {
        TrafficCounters forwarded = testbed.server().traffic().tunnel(tunnelId);
        try (RawHttp2Visitor visitor = RawHttp2Visitor.connect(testbed.server().httpsPort(), HOST, ca.clientContext())) {
            List<AtomicLong> sent = new ArrayList<>();
            for (int i = 0; i < STALLED_STREAMS; i++) {
                int stream = 1 + 2 * i;
                AtomicLong streamSent = new AtomicLong();
                sent.add(streamSent);
                visitor.post(stream, "/stall/" + i, BODY);
                sendInTheBackground(() -> visitor.sendBody(stream, BODY, streamSent));
            }
            await().atMost(30, TimeUnit.SECONDS).until(() -> target.stalled() == STALLED_STREAMS);
            awaitSendingStopped(sent);
            assertThat(sum(sent) - forwarded.bytesIn())
                    .as("body bytes the visitor sent on %d stalled streams and the server did not send on",
                            STALLED_STREAMS)
                    .isLessThanOrEqualTo(STALLED_STREAMS * MAX_HELD_PER_STREAM);

            int fast = 1 + 2 * STALLED_STREAMS;
            visitor.post(fast, "/fast", FAST_BODY);
            sendInTheBackground(() -> visitor.sendBody(fast, FAST_BODY, new AtomicLong()));
            await().atMost(30, TimeUnit.SECONDS)
                    .alias("the answer to a stream beside the stalled ones, its body sent whole")
                    .until(() -> visitor.endOfStream(fast));
            assertThat(visitor.status(fast)).isEqualTo("200");
            assertThat(visitor.body(fast)).isEqualTo(Long.toString(FAST_BODY));
        }
    }

    /** On a thread of its own: a stalled stream's body waits for credit that may never come. */
    private static void sendInTheBackground(Runnable send) {
        Thread.ofVirtual().name("h2-upload").start(() -> {
            try {
                send.run();
            } catch (RuntimeException e) {
                // no credit for a minute, or the connection ended with the test
            }
        });
    }

    /** Waits until what the stalled streams sent stays the same for a second. */
    private static void awaitSendingStopped(List<AtomicLong> sent) {
        AtomicLong seen = new AtomicLong(-1);
        await().pollInterval(Duration.ofMillis(100)).during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(60))
                .until(() -> sum(sent) == seen.getAndSet(sum(sent)));
    }

    private static long sum(List<AtomicLong> sent) {
        return sent.stream().mapToLong(AtomicLong::get).sum();
    }
}
