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
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongToIntFunction;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * One HTTP/2 visitor uploads on many streams at once to targets that read none of the bodies yet: what the server lets
 * that connection send and has not sent up the tunnel stays within the connection's window, near what one HTTP/1.1
 * connection may hold, however many streams; once the targets read, every upload completes whole. Real server, our client in process, socket targets, a
 * visitor writing HTTP/2 frames by hand over TLS.
 */
class Http2ConnectionBufferEndToEndTest {

    private static final String HOST = "uploads.test";
    private static final int STREAMS = 100;
    private static final long KiB = 1024;
    private static final long BODY = 192 * KiB;
    /** The connection's window (192 KiB), with room for the pieces on their way up the tunnel. */
    private static final long MAX_HELD_BY_THE_SERVER = 256 * KiB;

    @TempDir
    Path dataDir;

    private final TestCertificates ca = new TestCertificates();
    private Testbed testbed;
    private GatedUploadTarget target;
    private String tunnelId;

    @BeforeEach
    void start() throws IOException {
        TestCertificates.write(ca.issue(HOST), dataDir.resolve("certs"), HOST);
        testbed = new Testbed(dataDir);
        JsonNode tunnel = testbed.createTunnel("uploads");
        tunnelId = tunnel.get("id").asText();
        SessionLimits defaults = SessionLimits.DEFAULTS;
        // Stream windows that do not grow: what the path behind the server takes stays small once the targets wait.
        testbed.startClient(tunnel.get("token").asText(), config -> config.withLimits(new SessionLimits(
                YamuxConfig.INITIAL_STREAM_WINDOW, defaults.sessionWindowBudget(), defaults.maxStreams(),
                defaults.sessionBufferLimit())));
        await().atMost(10, TimeUnit.SECONDS).until(() -> testbed.isConnected(tunnelId));
        target = new GatedUploadTarget(STREAMS);
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

    /**
     * Before it reads any body, the server lets one stream send 128 KiB and all of them together 192 KiB (and a byte:
     * 65535 and twice the streams' rise over it), rather than HTTP/2's 64 KiB: a long upload is not held to 64 KiB per
     * round trip.
     */
    @Test
    void theServerLetsAStreamSend128KiBAndTheConnection192KiBBeforeItReadsAny() throws Exception {
        try (RawHttp2Visitor visitor = RawHttp2Visitor.connect(testbed.server().httpsPort(), HOST, ca.clientContext())) {
            await().atMost(10, TimeUnit.SECONDS).until(() -> visitor.initialStreamWindow() == 128 * KiB);
            await().atMost(10, TimeUnit.SECONDS).until(() -> visitor.connectionCredit() == 192 * KiB + 1);
        }
    }

    @Test
    void manyStreamsUploadingAtOnceGetNoMoreOfTheConnectionTakenInThanAnHttp1ConnectionAndAllCompleteWhole()
            throws Exception {
        TrafficCounters forwarded = testbed.server().traffic().tunnel(tunnelId);
        try (RawHttp2Visitor visitor = RawHttp2Visitor.connect(testbed.server().httpsPort(), HOST, ca.clientContext())) {
            List<CompletableFuture<Void>> bodies = new ArrayList<>();
            for (int i = 0; i < STREAMS; i++) {
                int stream = 1 + 2 * i;
                visitor.post(stream, "/upload/" + stream, BODY);
                bodies.add(CompletableFuture.runAsync(() -> visitor.sendBody(stream, BODY, new AtomicLong(),
                        content(stream)), command -> Thread.ofVirtual().start(command)));
            }
            await().atMost(30, TimeUnit.SECONDS).until(() -> target.heads() == STREAMS);
            // Every look for two seconds: a look over the bound fails at once, as no two seconds are left then.
            await().pollInterval(Duration.ofMillis(50)).during(Duration.ofSeconds(2)).atMost(Duration.ofMillis(2500))
                    .untilAsserted(() -> assertThat(visitor.connectionCredit() - forwarded.bytesIn())
                            .as("body bytes the server let the visitor send and did not send on (forwarded %d)",
                                    forwarded.bytesIn())
                            .isLessThanOrEqualTo(MAX_HELD_BY_THE_SERVER));

            target.open();
            CompletableFuture.allOf(bodies.toArray(CompletableFuture[]::new)).get(90, TimeUnit.SECONDS);
            for (int i = 0; i < STREAMS; i++) {
                int stream = 1 + 2 * i;
                await().atMost(30, TimeUnit.SECONDS).until(() -> visitor.endOfStream(stream));
                assertThat(visitor.status(stream)).isEqualTo("200");
                assertThat(visitor.body(stream)).as("the SHA-256 of the body stream %d sent", stream)
                        .isEqualTo(sha256(BODY, content(stream)));
            }
        }
    }

    /** A body that differs from stream to stream and along its length, so that a byte out of place shows. */
    private static LongToIntFunction content(int stream) {
        return offset -> (int) (offset ^ (offset >>> 8) ^ (offset >>> 16) ^ stream);
    }

    private static String sha256(long length, LongToIntFunction content) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        for (long offset = 0; offset < length; offset++) {
            digest.update((byte) content.applyAsInt(offset));
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
