package io.picotunnel.server.e2e;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetric;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.channel.DefaultEventLoop;
import io.picotunnel.server.tunnel.ArrivalWait;
import io.picotunnel.server.tunnel.TunnelRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Uploads over HTTP/2 whose tunnel stream does not open (the tunnel's client is gone, another is under way), so that
 * what they send waits in the proxy itself, partly in its own queue of what it read, or opens but sends nothing into
 * the tunnel (the client's connection takes nothing), so that what the proxy hands the tunnel stream waits in that
 * stream's queue: all of it counts against the server's budget for held uploads (its {@code --session-buffer-limit},
 * here 256 KiB), the visitor gets no credit for more than the budget counts, and past the budget uploads are answered
 * 503, then reset with NO_ERROR (no answer had begun). Real server, our client (stopped, or taking nothing), a socket
 * target, a visitor writing HTTP/2 frames by hand over TLS.
 */
class Http2OpeningUploadBudgetEndToEndTest extends AgainstAnUploadBudget {

    private static final long BUDGET = 256 * 1024;
    private static final long BODY = 64L * 1024 * 1024;
    /** Streams whose windows (64 KiB each) hold more than the budget. */
    private static final int STREAMS = 6;
    private static final long NO_ERROR = 0;
    /** What may come on before a reset frees what its stream held: a DATA frame (and its cost) per stream. */
    private static final long SLACK = STREAMS * (16 * 1024 + 128);
    /** One-byte DATA frames, each read into a buffer of ~16 KiB (behind a frame the server ignores in its TLS record). */
    private static final int TINY_FRAMES = 1000;
    private static final int FILLER = 16_000;
    /** What the allocator may grow by meanwhile, for other things than the frames held. */
    private static final long MEMORY_SLACK = 4L * 1024 * 1024;
    /** Longer than any test takes: its checks need the streams still waiting, on a slow machine too. */
    private static final Duration ARRIVAL_WAIT = Duration.ofMinutes(5);
    /** Connections of {@link #FIRST_FRAME_STREAMS} streams, each sending one one-byte DATA frame read behind ~16 KiB. */
    private static final int FIRST_FRAME_CONNECTIONS = 3;
    private static final int FIRST_FRAME_STREAMS = 100;
    /**
     * What the allocator may grow by meanwhile (300 streams, their exchanges; ~2.2 MB in runs with the copy): the
     * read buffers kept without it were ~7 MB.
     */
    private static final long FIRST_FRAME_SLACK = 4L * 1024 * 1024;

    /** The loop of the client under way; shut down after the tunnel is closed (AgainstAnUploadBudget's @AfterEach). */
    @AutoClose("shutdownGracefully")
    private final DefaultEventLoop arrivalLoop = new DefaultEventLoop();
    private TunnelRegistry.Arrival underWay;

    Http2OpeningUploadBudgetEndToEndTest() {
        super(BUDGET);
    }

    @BeforeEach
    void setArrivalWait() {
        ArrivalWait.set(tunnel.server().registry(), ARRIVAL_WAIT);
    }

    @AfterEach
    void abandonTheClientUnderWay() {
        if (underWay != null) {
            underWay.abandon();
        }
    }

    @Test
    void uploadsWaitingForTheirTunnelStreamCountAgainstTheBudgetAndAreResetPastIt() throws Exception {
        streamsWaitForAClientUnderWay();
        RawHttp2Visitor visitor = visitor();

        assertHeldWithinTheBudget(visitor, sendUntilStalled(visitor, "/opening/"));
    }

    /**
     * The tunnel streams open at once, but nothing written into them leaves the server (the client's connection takes
     * nothing): the pieces the proxy hands each (all those it read while the stream opened, at once) stay counted, their
     * credit withheld, until their writes into the tunnel are done, which they never are here. Before, they left the
     * budget as they were handed on, their credit given back: each stream was sent twice its window, half of it
     * uncounted.
     */
    @Test
    void piecesWrittenIntoTunnelStreamsThatSendNothingCountAgainstTheBudgetUntilSent() throws Exception {
        UnsentWrites.holdWritesTo(tunnel.server().registry().connections(tunnel.id).getFirst());
        RawHttp2Visitor visitor = visitor();

        assertHeldWithinTheBudget(visitor, sendUntilStalled(visitor, "/unsent/"));
    }

    /** The tunnel's client gone and another under way: the streams asked of the tunnel wait for it. */
    private void streamsWaitForAClientUnderWay() {
        tunnel.disconnectClient();
        underWay = tunnel.server().registry().arriving(tunnel.id, "under-way", arrivalLoop);
    }

    /** Posts a long upload on each of {@link #STREAMS} streams, sends their bodies until they send no more. */
    private static List<AtomicLong> sendUntilStalled(RawHttp2Visitor visitor, String path) throws IOException {
        List<AtomicLong> sent = new ArrayList<>();
        for (int i = 0; i < STREAMS; i++) {
            int stream = 1 + 2 * i;
            AtomicLong streamSent = new AtomicLong();
            sent.add(streamSent);
            visitor.post(stream, path + i, BODY);
            StalledSending.inTheBackground(() -> visitor.sendBody(stream, BODY, streamSent));
        }
        StalledSending.awaitStopped(sent);
        return sent;
    }

    /**
     * Some of the streams that {@code sent} was sent on are reset with ENHANCE_YOUR_CALM, and what the others were
     * sent, none of it gone up a tunnel, is all counted held and within the budget.
     */
    private void assertHeldWithinTheBudget(RawHttp2Visitor visitor, List<AtomicLong> sent) {
        long held = tunnel.server().http2UploadBytesHeld();
        List<Long> resets = new ArrayList<>();
        List<AtomicLong> sentOnStreamsLeft = new ArrayList<>();
        List<String> answers = new ArrayList<>();
        for (int i = 0; i < STREAMS; i++) {
            Long reset = visitor.resetCode(1 + 2 * i);
            resets.add(reset);
            if (reset == null) {
                sentOnStreamsLeft.add(sent.get(i));
            } else {
                answers.add(visitor.status(1 + 2 * i));
            }
        }
        assertThat(resets).as("the streams: reset ones and their codes").contains(NO_ERROR);
        assertThat(answers).as("the answers to the streams reset, before their resets").containsOnly("503");
        assertThat(sentOnStreamsLeft).as("streams not reset").isNotEmpty();
        long waiting = StalledSending.sum(sentOnStreamsLeft);
        assertThat(held).as("bytes counted, frames counted, for the %d bytes the streams left sent and the server"
                + " holds, none gone up a tunnel", waiting).isGreaterThanOrEqualTo(waiting);
        assertThat(waiting).as("what the server holds for the streams left").isLessThanOrEqualTo(BUDGET + SLACK);
    }

    /**
     * The frames the proxy reads while the tunnel stream opens wait, in its own queue or the stream's, behind the first:
     * they are copied out of the buffers they were read into, or each would keep ~16 KiB alive counted 129 bytes.
     */
    @Test
    void tinyFramesWaitingForTheirTunnelStreamKeepNoMoreThanTheyAreCountedFor() throws Exception {
        streamsWaitForAClientUnderWay();
        RawHttp2Visitor visitor = visitor();
        visitor.post(1, "/opening", BODY);
        visitor.ping();
        long before = allocatorMemory();

        for (int i = 0; i < TINY_FRAMES; i++) {
            visitor.dataBehindFiller(1, FILLER);
        }
        visitor.ping(); // all read; unanswered one by one, as the tunnel stream waits

        assertThat(tunnel.server().http2UploadBytesHeld()).as("what the budget counts held, the stream still waiting")
                .isGreaterThanOrEqualTo(TINY_FRAMES * 129L);
        assertThat(allocatorMemory() - before)
                .as("what %d one-byte DATA frames waiting for their tunnel stream keep of the allocator's memory",
                        TINY_FRAMES)
                .isLessThanOrEqualTo(TINY_FRAMES * 129L + MEMORY_SLACK);
    }

    /**
     * The first frame of each stream, read while its tunnel stream opens, waits behind nothing of its stream: small, it
     * is copied out of the buffer it was read into all the same, or each stream would keep ~16 KiB alive counted 129
     * bytes. Several connections, as one has at most 100 streams.
     */
    @Test
    void tinyFirstFramesOfManyStreamsWaitingForTheirTunnelStreamsKeepNoMoreThanTheyAreCountedFor() throws Exception {
        streamsWaitForAClientUnderWay();
        List<RawHttp2Visitor> visitors = new ArrayList<>();
        for (int i = 0; i < FIRST_FRAME_CONNECTIONS; i++) {
            visitors.add(visitor());
        }
        for (RawHttp2Visitor each : visitors) {
            each.ping();
        }
        long before = allocatorMemory();

        for (RawHttp2Visitor each : visitors) {
            for (int i = 0; i < FIRST_FRAME_STREAMS; i++) {
                int stream = 1 + 2 * i;
                each.post(stream, "/opening/" + i, BODY);
                each.dataBehindFiller(stream, FILLER);
            }
        }
        for (RawHttp2Visitor each : visitors) {
            each.ping(); // all read, the tunnel streams still waiting (ARRIVAL_WAIT)
        }

        long held = tunnel.server().http2UploadBytesHeld();
        assertThat(held).as("what the budget counts held, the streams still waiting")
                .isGreaterThanOrEqualTo(FIRST_FRAME_CONNECTIONS * FIRST_FRAME_STREAMS * 129L);
        assertThat(allocatorMemory() - before)
                .as("what the first one-byte DATA frames of %d streams waiting for their tunnel streams keep of the"
                        + " allocator's memory", FIRST_FRAME_CONNECTIONS * FIRST_FRAME_STREAMS)
                .isLessThanOrEqualTo(held + FIRST_FRAME_SLACK);
    }

    private static long allocatorMemory() {
        ByteBufAllocatorMetric metric = ((ByteBufAllocatorMetricProvider) ByteBufAllocator.DEFAULT).metric();
        return metric.usedDirectMemory() + metric.usedHeapMemory();
    }
}
