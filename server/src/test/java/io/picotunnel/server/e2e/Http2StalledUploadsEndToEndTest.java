package io.picotunnel.server.e2e;

import io.picotunnel.server.monitor.TrafficCounters;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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

    private StallingUploadTarget target;
    private HttpsHostTunnel tunnel;

    @BeforeEach
    void start() throws IOException {
        target = new StallingUploadTarget();
        tunnel = new HttpsHostTunnel(dataDir, Map.of(), HOST, HttpsHostTunnel.FIXED_STREAM_WINDOWS, target::close,
                target.port());
    }

    @AfterEach
    void stop() throws IOException {
        if (tunnel != null) {
            tunnel.close();
        }
    }

    @Test
    void stalledUploadsLeaveTheConnectionWindowToAnotherStreamAndEachHoldsAtMostItsWindow() throws Exception {
        TrafficCounters forwarded = tunnel.server().traffic().tunnel(tunnel.id);
        try (RawHttp2Visitor visitor = tunnel.visitor()) {
            List<AtomicLong> sent = new ArrayList<>();
            for (int i = 0; i < STALLED_STREAMS; i++) {
                int stream = 1 + 2 * i;
                AtomicLong streamSent = new AtomicLong();
                sent.add(streamSent);
                visitor.post(stream, "/stall/" + i, BODY);
                StalledSending.inTheBackground(() -> visitor.sendBody(stream, BODY, streamSent));
            }
            await().atMost(30, TimeUnit.SECONDS).until(() -> target.stalled() == STALLED_STREAMS);
            StalledSending.awaitStopped(sent);
            assertThat(StalledSending.sum(sent) - forwarded.bytesIn())
                    .as("body bytes the visitor sent on %d stalled streams and the server did not send on",
                            STALLED_STREAMS)
                    .isLessThanOrEqualTo(STALLED_STREAMS * MAX_HELD_PER_STREAM);

            int fast = 1 + 2 * STALLED_STREAMS;
            visitor.post(fast, "/fast", FAST_BODY);
            StalledSending.inTheBackground(() -> visitor.sendBody(fast, FAST_BODY, new AtomicLong()));
            visitor.awaitRead("the answer to a stream beside the stalled ones, its body sent whole",
                    Duration.ofSeconds(30), () -> visitor.endOfStream(fast));
            assertThat(visitor.status(fast)).isEqualTo("200");
            assertThat(visitor.body(fast)).isEqualTo(Long.toString(FAST_BODY));
        }
    }
}
