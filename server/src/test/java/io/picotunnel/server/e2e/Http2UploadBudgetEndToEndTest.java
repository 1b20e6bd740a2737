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
import java.util.stream.IntStream;

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
 * <p>The streams stall one after the other (each until it sends nothing more), so the order in which they went
 * without moving on, and so which one a pass over the budget resets, is known.
 */
class Http2UploadBudgetEndToEndTest {

    private static final long MiB = 1024 * 1024;
    private static final long BUDGET = 256 * 1024;
    private static final String HOST = "uploads.test";
    private static final long BODY = 64 * MiB;
    private static final long ENHANCE_YOUR_CALM = 0xb;
    /** Streams of one connection that hold more than the budget once stalled, some 33 KiB each. */
    private static final int MAX_STREAMS_TO_PASS_THE_BUDGET = 16;
    /** Streams of one connection that hold more than the budget once stalled, some 50 KiB each. */
    private static final int FILLING_STREAMS = 8;
    /** What may come on before the resets free what they held: a DATA frame (and its cost) per stream. */
    private static final long SLACK = (1 + MAX_STREAMS_TO_PASS_THE_BUDGET) * (16 * 1024 + 128);

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

    /**
     * One stream stalls on a first connection, then streams stall one after the other on a second until the server
     * resets one: past the budget, the second holds the most (the first holds one stream's window at most), so the
     * streams reset are the second's that stalled first, with ENHANCE_YOUR_CALM, never the first connection's upload
     * though it stalled before them all, nor the second's last. What a stalled stream holds is between half its window
     * and all of it (how much the proxy took without giving the credit back yet varies), so how many streams it takes
     * to pass the budget varies too.
     */
    @Test
    void stalledUploadsOverTheBudgetAreResetAndTheServerHoldsNoMore() throws Exception {
        List<AtomicLong> sent = new ArrayList<>();
        RawHttp2Visitor first = tunnel.visitor();
        visitors.add(first);
        stall(first, 1, "/stall/first", sent);
        RawHttp2Visitor fullest = tunnel.visitor();
        visitors.add(fullest);
        int streams = 0;
        while (streams < MAX_STREAMS_TO_PASS_THE_BUDGET && resets(fullest, streams).isEmpty()) {
            stall(fullest, 1 + 2 * streams, "/stall/fullest/" + streams, sent);
            streams++;
        }

        List<Integer> reset = resets(fullest, streams);
        assertThat(reset).as("the fullest connection's streams reset, of %d that stalled in turn", streams)
                .isNotEmpty().isEqualTo(IntStream.range(0, reset.size()).map(i -> 1 + 2 * i).boxed().toList())
                .doesNotContain(1 + 2 * (streams - 1));
        for (int i = 0; i < reset.size(); i++) {
            assertThat(fullest.resetCode(reset.get(i))).as("the reset code").isEqualTo(ENHANCE_YOUR_CALM);
        }
        assertThat(first.resetCode(1)).as("the other connection's upload, stalled longest but holding less").isNull();
        assertThat(List.of(first.goAwayError(), fullest.goAwayError())).as("GOAWAYs").containsOnly(-1L);
        assertThat(tunnel.server().http2UploadBytesHeld()).as("upload bytes the server holds, frames counted")
                .isLessThanOrEqualTo(BUDGET + SLACK);

        for (RawHttp2Visitor visitor : visitors) {
            visitor.close();
        }
        await().atMost(10, TimeUnit.SECONDS).alias("nothing held once the visitors left")
                .until(() -> tunnel.server().http2UploadBytesHeld() == 0);
    }

    /**
     * Posts on {@code stream}, waits until its head reached the target, then sends its body until it sends no more.
     * The body waits for the head: pieces that come while the tunnel stream opens are held and counted, so a stream
     * sent at once could pass the budget, and be reset, before its head reached the target.
     */
    private void stall(RawHttp2Visitor visitor, int stream, String path, List<AtomicLong> sent) throws IOException {
        AtomicLong streamSent = new AtomicLong();
        sent.add(streamSent);
        int heads = target.stalled() + 1;
        visitor.post(stream, path, BODY);
        await().atMost(60, TimeUnit.SECONDS).alias("the head of " + path + " at the target")
                .until(() -> target.stalled() == heads);
        StalledSending.inTheBackground(() -> visitor.sendBody(stream, BODY, streamSent));
        StalledSending.awaitStopped(sent);
    }

    /** The streams of the first {@code streams} on {@code visitor}'s connection that the server reset. */
    private static List<Integer> resets(RawHttp2Visitor visitor, int streams) {
        return IntStream.range(0, streams).map(i -> 1 + 2 * i).filter(stream -> visitor.resetCode(stream) != null)
                .boxed().toList();
    }

    /**
     * A small upload stalls on one connection, then the streams of a second connection stall one after the other,
     * together holding more than the budget: the streams reset are the second's that stalled first, never its last nor
     * the first connection's upload, though that one stalled before them all.
     */
    @Test
    void theConnectionThatFillsTheBudgetHasItsStreamResetNotAnotherConnectionsOlderUpload() throws Exception {
        List<AtomicLong> sent = new ArrayList<>();
        RawHttp2Visitor small = tunnel.visitor();
        visitors.add(small);
        stall(small, 1, "/stall/small", sent);
        assertThat(tunnel.server().http2UploadBytesHeld()).as("the small upload, stalled first, held").isPositive();

        RawHttp2Visitor filling = tunnel.visitor();
        visitors.add(filling);
        for (int i = 0; i < FILLING_STREAMS; i++) {
            stall(filling, 1 + 2 * i, "/stall/filling/" + i, sent);
        }

        List<Integer> reset = resets(filling, FILLING_STREAMS);
        assertThat(reset).as("the filling connection's streams reset, of %d that stalled in turn", FILLING_STREAMS)
                .isNotEmpty().isEqualTo(IntStream.range(0, reset.size()).map(i -> 1 + 2 * i).boxed().toList())
                .doesNotContain(1 + 2 * (FILLING_STREAMS - 1));
        for (int stream : reset) {
            assertThat(filling.resetCode(stream)).as("the reset code").isEqualTo(ENHANCE_YOUR_CALM);
        }
        assertThat(small.resetCode(1)).as("the other connection's upload, stalled longest but holding little")
                .isNull();
        assertThat(List.of(small.goAwayError(), filling.goAwayError())).as("GOAWAYs").containsOnly(-1L);
        assertThat(tunnel.server().http2UploadBytesHeld()).isLessThanOrEqualTo(BUDGET + SLACK);
    }
}
