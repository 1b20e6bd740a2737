package io.picotunnel.server.e2e;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Uploads over several HTTP/2 connections to a target that reads none of their bodies, more of them than the
 * server's budget for held uploads (its {@code --session-buffer-limit}, here 256 KiB) can hold: what the server holds
 * stays within the budget, uploads of the connections that hold the most are reset with ENHANCE_YOUR_CALM, and once
 * the visitors left the server holds nothing; an upload of a connection that holds little is not reset for one that
 * fills the budget, though it stalled first. Real server, our client in process, socket targets, visitors writing
 * HTTP/2 frames by hand over TLS.
 *
 * <p>The connections stall one after the other (each until its streams send nothing more): three streams a
 * connection hold some 150 KiB, so the third connection's take the server past its budget.
 */
class Http2UploadBudgetEndToEndTest {

    private static final long MiB = 1024 * 1024;
    private static final long BUDGET = 256 * 1024;
    private static final String HOST = "uploads.test";
    private static final int CONNECTIONS = 3;
    private static final int STREAMS_PER_CONNECTION = 3;
    private static final long BODY = 64 * MiB;
    private static final long ENHANCE_YOUR_CALM = 0xb;
    /** Streams of one connection that hold more than the budget once stalled, some 50 KiB each. */
    private static final int FILLING_STREAMS = 8;
    /** What may come on before the resets free what they held: a DATA frame (and its cost) per stream. */
    private static final long SLACK = CONNECTIONS * STREAMS_PER_CONNECTION * (16 * 1024 + 128);

    @TempDir
    Path dataDir;

    private final List<RawHttp2Visitor> visitors = new ArrayList<>();
    private StallingUploadTarget target;
    private HttpsHostTunnel tunnel;

    @BeforeEach
    void start() throws IOException {
        target = new StallingUploadTarget();
        tunnel = HttpsHostTunnel.withUploadBudget(dataDir, BUDGET, HOST, target);
    }

    @AfterEach
    void stop() throws IOException {
        for (RawHttp2Visitor visitor : visitors) {
            visitor.close();
        }
        if (tunnel != null) {
            tunnel.close();
        }
    }

    @Test
    void stalledUploadsOverTheBudgetAreResetAndTheServerHoldsNoMore() throws Exception {
        List<AtomicLong> sent = new ArrayList<>();
        for (int c = 0; c < CONNECTIONS; c++) {
            RawHttp2Visitor visitor = tunnel.visitor();
            visitors.add(visitor);
            for (int i = 0; i < STREAMS_PER_CONNECTION; i++) {
                int stream = 1 + 2 * i;
                AtomicLong streamSent = new AtomicLong();
                sent.add(streamSent);
                visitor.post(stream, "/stall/" + c + "/" + i, BODY);
                StalledSending.inTheBackground(() -> visitor.sendBody(stream, BODY, streamSent));
            }
            int stalled = (c + 1) * STREAMS_PER_CONNECTION;
            await().atMost(60, TimeUnit.SECONDS).until(() -> target.stalled() == stalled);
            StalledSending.awaitStopped(sent);
            assertThat(tunnel.server().http2UploadBytesHeld())
                    .as("upload bytes the server holds for %d stalled streams, frames counted", stalled)
                    .isLessThanOrEqualTo(BUDGET + SLACK);
        }

        List<Long> resets = new ArrayList<>();
        for (RawHttp2Visitor visitor : visitors) {
            for (int i = 0; i < STREAMS_PER_CONNECTION; i++) {
                resets.add(visitor.resetCode(1 + 2 * i));
            }
        }
        assertThat(resets).as("the streams: reset ones and their codes").contains(ENHANCE_YOUR_CALM);
        for (RawHttp2Visitor visitor : visitors) {
            visitor.close();
        }
        await().atMost(10, TimeUnit.SECONDS).alias("nothing held once the visitors left")
                .until(() -> tunnel.server().http2UploadBytesHeld() == 0);
    }

    @Test
    void theConnectionThatFillsTheBudgetHasItsStreamResetNotAnotherConnectionsOlderUpload() throws Exception {
        RawHttp2Visitor small = tunnel.visitor();
        visitors.add(small);
        List<AtomicLong> sent = new ArrayList<>();
        AtomicLong smallSent = new AtomicLong();
        sent.add(smallSent);
        small.post(1, "/stall/small", BODY);
        StalledSending.inTheBackground(() -> small.sendBody(1, BODY, smallSent));
        await().atMost(60, TimeUnit.SECONDS).until(() -> target.stalled() == 1);
        StalledSending.awaitStopped(sent);
        assertThat(tunnel.server().http2UploadBytesHeld()).as("the small upload, stalled first, held").isPositive();

        RawHttp2Visitor filling = tunnel.visitor();
        visitors.add(filling);
        for (int i = 0; i < FILLING_STREAMS; i++) {
            int stream = 1 + 2 * i;
            AtomicLong streamSent = new AtomicLong();
            sent.add(streamSent);
            filling.post(stream, "/stall/filling/" + i, BODY);
            StalledSending.inTheBackground(() -> filling.sendBody(stream, BODY, streamSent));
        }
        await().atMost(60, TimeUnit.SECONDS).until(() -> target.stalled() == 1 + FILLING_STREAMS);
        StalledSending.awaitStopped(sent);

        List<Long> fillingResets = new ArrayList<>();
        for (int i = 0; i < FILLING_STREAMS; i++) {
            fillingResets.add(filling.resetCode(1 + 2 * i));
        }
        assertThat(fillingResets).as("the filling connection's streams: reset ones and their codes")
                .contains(ENHANCE_YOUR_CALM);
        assertThat(small.resetCode(1)).as("the other connection's upload, stalled longest but holding little")
                .isNull();
        assertThat(tunnel.server().http2UploadBytesHeld()).isLessThanOrEqualTo(BUDGET + SLACK);
    }
}
