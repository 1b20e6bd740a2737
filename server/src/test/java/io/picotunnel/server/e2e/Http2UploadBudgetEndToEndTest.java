package io.picotunnel.server.e2e;

import org.junit.jupiter.api.Test;

import java.io.IOException;
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
 * stays within the budget, uploads of the connections that hold the most are ended, and once the visitors left the
 * server holds nothing; an upload of a connection that holds little is not ended for one that fills the budget, though
 * it stalled first; an upload the target reads goes through whole, however long. An upload ended before its target
 * answered gets 503 and then RST_STREAM NO_ERROR, what it held leaving the budget at once; one whose answer began is
 * reset with ENHANCE_YOUR_CALM. Real server, our client in process, socket targets, visitors writing HTTP/2 frames by
 * hand over TLS.
 *
 * <p>The streams stall one after the other (each until it sends nothing more), so the order in which they went
 * without moving on, and so which one a pass over the budget resets, is known.
 */
class Http2UploadBudgetEndToEndTest extends AgainstAnUploadBudget {

    private static final long MiB = 1024 * 1024;
    private static final long BUDGET = 256 * 1024;
    private static final long BODY = 64 * MiB;
    /** Some 250 windows of a stream (64 KiB). */
    private static final long LONG_BODY = 16 * MiB;
    private static final long ENHANCE_YOUR_CALM = 0xb;
    private static final long NO_ERROR = 0;
    /** An upload to a target that reads it whole, on the connection of uploads ended. */
    private static final long FAST_BODY = MiB;
    /** Streams of one connection that hold more than the budget once stalled, some 33 KiB each. */
    private static final int MAX_STREAMS_TO_PASS_THE_BUDGET = 16;
    /** Streams of one connection that hold more than the budget once stalled, some 50 KiB each. */
    private static final int FILLING_STREAMS = 8;
    /** What may come on before the resets free what they held: a DATA frame (and its cost) per stream. */
    private static final long SLACK = (1 + MAX_STREAMS_TO_PASS_THE_BUDGET) * (16 * 1024 + 128);

    Http2UploadBudgetEndToEndTest() {
        super(BUDGET);
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
        RawHttp2Visitor first = visitor();
        stall(first, 1, "/stall/first", sent);
        RawHttp2Visitor fullest = visitor();
        int streams = stallUntilOneEnds(fullest, 0, "/stall/fullest/", sent);

        assertTheFirstStalledEndedNotTheLast(fullest, "fullest", streams);
        assertThat(first.resetCode(1)).as("the other connection's upload, stalled longest but holding less").isNull();
        assertThat(List.of(first.goAwayError(), fullest.goAwayError())).as("GOAWAYs").containsOnly(-1L);
        assertThat(tunnel.server().http2UploadBytesHeld()).as("upload bytes the server holds, frames counted")
                .isLessThanOrEqualTo(BUDGET + SLACK);

        closeVisitors();
        await().atMost(10, TimeUnit.SECONDS).alias("nothing held once the visitors left")
                .until(() -> tunnel.server().http2UploadBytesHeld() == 0);
    }

    /**
     * A stream's credit comes back as its pieces are written into the tunnel, a WINDOW_UPDATE flushed for several at
     * once: none of it is lost, and an upload many windows long goes through whole, leaving nothing held.
     */
    @Test
    void aLongUploadGoesThroughWholeAndLeavesNothingHeld() throws Exception {
        RawHttp2Visitor visitor = visitor();
        visitor.post(1, "/fast", LONG_BODY);
        AtomicLong sent = new AtomicLong();
        StalledSending.inTheBackground(() -> visitor.sendBody(1, LONG_BODY, sent));

        await().atMost(120, TimeUnit.SECONDS).alias("the answer to the long upload").until(() -> visitor.endOfStream(1));
        assertThat(visitor.status(1)).isEqualTo("200");
        assertThat(visitor.body(1)).as("the body's length, as the target read it").isEqualTo(Long.toString(LONG_BODY));
        await().atMost(10, TimeUnit.SECONDS).alias("nothing held once it went through")
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

    /**
     * Stalls streams on {@code visitor}'s connection one after the other, the first being the {@code first}th (from
     * 0), until the server ended one of them (or {@link #MAX_STREAMS_TO_PASS_THE_BUDGET} stalled); returns how many
     * streams of the connection stalled, the first ones included.
     */
    private int stallUntilOneEnds(RawHttp2Visitor visitor, int first, String path, List<AtomicLong> sent)
            throws IOException {
        int streams = first;
        while (streams < MAX_STREAMS_TO_PASS_THE_BUDGET && ended(visitor, streams).isEmpty()) {
            stall(visitor, 1 + 2 * streams, path + streams, sent);
            streams++;
        }
        return streams;
    }

    /** Of the first {@code streams} of {@code visitor}'s connection, those the server reset or answered 503. */
    private static List<Integer> ended(RawHttp2Visitor visitor, int streams) {
        return IntStream.range(0, streams).map(i -> 1 + 2 * i)
                .filter(stream -> visitor.resetCode(stream) != null || "503".equals(visitor.status(stream)))
                .boxed().toList();
    }

    /**
     * Of the first {@code streams} of {@code visitor}'s connection, which stalled in turn, the server ended some: the
     * first ones, never the last, each answered 503 whole and then reset.
     */
    private static void assertTheFirstStalledEndedNotTheLast(RawHttp2Visitor visitor, String connection, int streams) {
        List<Integer> reset = ended(visitor, streams);
        assertThat(reset).as("the %s connection's streams ended, of %d that stalled in turn", connection, streams)
                .isNotEmpty().isEqualTo(IntStream.range(0, reset.size()).map(i -> 1 + 2 * i).boxed().toList())
                .doesNotContain(1 + 2 * (streams - 1));
        for (int stream : reset) {
            assertAnswered503ThenReset(visitor, stream);
        }
    }

    /** {@code stream} was answered 503 whole, then reset with NO_ERROR: the rest of its upload is not wanted. */
    private static void assertAnswered503ThenReset(RawHttp2Visitor visitor, int stream) {
        await().atMost(10, TimeUnit.SECONDS).alias("the RST_STREAM after the 503 of stream " + stream)
                .until(() -> visitor.resetCode(stream) != null);
        assertThat(visitor.status(stream)).as("the answer to stream %d", stream).isEqualTo("503");
        assertThat(visitor.endOfStream(stream)).as("the answer's END_STREAM, before the reset").isTrue();
        assertThat(visitor.body(stream)).as("the page").contains("holding too much of its visitors");
        assertThat(visitor.resetCode(stream)).as("the reset code after the answer").isEqualTo(NO_ERROR);
    }

    /**
     * A small upload stalls on one connection, then the streams of a second connection stall one after the other,
     * together holding more than the budget: the streams reset are the second's that stalled first, never its last nor
     * the first connection's upload, though that one stalled before them all.
     */
    @Test
    void theConnectionThatFillsTheBudgetHasItsStreamResetNotAnotherConnectionsOlderUpload() throws Exception {
        List<AtomicLong> sent = new ArrayList<>();
        RawHttp2Visitor small = visitor();
        stall(small, 1, "/stall/small", sent);
        assertThat(tunnel.server().http2UploadBytesHeld()).as("the small upload, stalled first, held").isPositive();

        RawHttp2Visitor filling = visitor();
        for (int i = 0; i < FILLING_STREAMS; i++) {
            stall(filling, 1 + 2 * i, "/stall/filling/" + i, sent);
        }

        assertTheFirstStalledEndedNotTheLast(filling, "filling", FILLING_STREAMS);
        assertThat(small.resetCode(1)).as("the other connection's upload, stalled longest but holding little")
                .isNull();
        assertThat(List.of(small.goAwayError(), filling.goAwayError())).as("GOAWAYs").containsOnly(-1L);
        assertThat(tunnel.server().http2UploadBytesHeld()).isLessThanOrEqualTo(BUDGET + SLACK);
    }

    /**
     * The first upload to stall is ended before its target answered, while the visitor's windows let no DATA of an
     * answer out: it gets 503 at once, and what it held leaves the budget then, not once the answer is out; its target
     * sees the request reset. Once the windows open, the 503 comes whole, then RST_STREAM NO_ERROR.
     */
    @Test
    void anUploadEndedBeforeItsTargetAnsweredGets503AndLeavesTheBudgetAtOnce() throws Exception {
        RawHttp2Visitor visitor = visitor();
        visitor.closeWindows();
        visitor.ping(); // the SETTINGS taken before the first stream

        stallUntilOneEnds(visitor, 0, "/stall/", new ArrayList<>());

        assertThat(visitor.status(1)).as("the answer to the upload that stalled first").isEqualTo("503");
        assertThat(visitor.endOfStream(1)).as("its end: its page waits for the visitor's window").isFalse();
        assertThat(visitor.resetCode(1)).as("a reset before the answer is out").isNull();
        await().atMost(10, TimeUnit.SECONDS).alias("held within the budget, the answer of the upload ended not out")
                .until(() -> tunnel.server().http2UploadBytesHeld() <= BUDGET);
        assertThat(target.readToEnd(0)).as("how the target's connection of that upload ended").isEqualTo("reset");

        visitor.openWindows();
        assertAnswered503ThenReset(visitor, 1);
        assertThat(visitor.goAwayError()).as("GOAWAY").isEqualTo(-1L);
    }

    /** An upload whose target answered its head before it stalled is reset with ENHANCE_YOUR_CALM, as before. */
    @Test
    void anUploadEndedAfterItsTargetAnsweredIsReset() throws Exception {
        List<AtomicLong> sent = new ArrayList<>();
        RawHttp2Visitor visitor = visitor();
        stall(visitor, 1, "/answered", sent);
        await().atMost(10, TimeUnit.SECONDS).alias("the target's answer to the upload")
                .until(() -> visitor.status(1) != null);

        stallUntilOneEnds(visitor, 1, "/stall/", sent);

        assertThat(visitor.resetCode(1)).as("the reset of the upload that stalled first").isEqualTo(ENHANCE_YOUR_CALM);
        assertThat(visitor.status(1)).as("its answer, begun").isEqualTo("200");
        assertThat(visitor.endOfStream(1)).as("its answer's end").isFalse();
        assertThat(visitor.goAwayError()).as("GOAWAY").isEqualTo(-1L);
    }

    /**
     * Once an upload was answered 503, the connection's other streams go on: the uploads not ended still wait, and a
     * new upload on the connection goes whole to its target, whose answer comes whole.
     */
    @Test
    void theConnectionsOtherStreamsGoOnOnceAnUploadWasAnswered503() throws Exception {
        RawHttp2Visitor visitor = visitor();
        int streams = stallUntilOneEnds(visitor, 0, "/stall/", new ArrayList<>());
        assertAnswered503ThenReset(visitor, 1);
        int last = 1 + 2 * (streams - 1);

        int fast = 1 + 2 * streams;
        visitor.post(fast, "/fast", FAST_BODY);
        visitor.sendBody(fast, FAST_BODY, new AtomicLong());

        await().atMost(30, TimeUnit.SECONDS).alias("the end of the answer to the upload sent after the 503")
                .until(() -> visitor.endOfStream(fast));
        assertThat(visitor.status(fast)).as("its status").isEqualTo("200");
        assertThat(visitor.body(fast)).as("the length the target read").isEqualTo(Long.toString(FAST_BODY));
        assertThat(visitor.resetCode(last)).as("the reset of the upload that stalled last").isNull();
        assertThat(visitor.status(last)).as("its answer").isNull();
        assertThat(visitor.goAwayError()).as("GOAWAY").isEqualTo(-1L);
    }
}
