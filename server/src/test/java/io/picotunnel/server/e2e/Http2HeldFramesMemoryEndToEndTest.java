package io.picotunnel.server.e2e;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetric;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * What frames waiting on an HTTP/2 stream whose upload stalled (its target reads nothing) keep of the server's
 * memory, as its buffer allocator counts it: no more than what they are counted for in the upload budget. Each
 * frame is read by the server before the next is sent (a PING answered in between); a one-byte DATA frame comes
 * behind a large frame the server ignores, in the same TLS record, so that it is read into a buffer of ~16 KiB. Real server, our client in process, a socket target, a
 * visitor writing HTTP/2 frames by hand over TLS.
 */
class Http2HeldFramesMemoryEndToEndTest extends AgainstAnUploadBudget {

    private static final long MiB = 1024 * 1024;
    private static final long BUDGET = 16 * MiB;
    private static final long BODY = 64 * MiB;
    private static final int STREAM = 1;
    /** The stream's window left for the one-byte DATA frames once its body stalled. */
    private static final int TINY_FRAMES = 1000;
    /** What comes before each one-byte DATA frame in its TLS record (16 KiB at most), so that it is read in one buffer. */
    private static final int FILLER = 16_000;
    /** One-byte DATA frames of an upload that flows: each goes on into the tunnel before the next comes. */
    private static final int FLOWING_FRAMES = 2000;
    /** What the proxy may keep of a flowing upload to send again, for each of its one-byte pieces. */
    private static final long KEPT_PER_PIECE = 256;
    private static final int UNKNOWN_FRAMES = 1000;
    private static final int UNKNOWN_FRAME_LENGTH = 16 * 1024;
    /** What the allocator may grow by meanwhile, for other things than the frames held (the client's, the tunnel's). */
    private static final long SLACK = 4 * MiB;

    private RawHttp2Visitor visitor;

    Http2HeldFramesMemoryEndToEndTest() {
        super(BUDGET);
    }

    @BeforeEach
    void connect() throws IOException {
        visitor = visitor();
    }

    @Test
    void tinyDataFramesOnAStalledStreamKeepNoMoreThanTheyAreCountedFor() throws Exception {
        stallStreamKeeping(TINY_FRAMES);
        long before = allocatorMemory();

        for (int i = 0; i < TINY_FRAMES; i++) {
            visitor.dataBehindFiller(STREAM, FILLER);
            visitor.ping();
        }

        assertThat(visitor.resetCode(STREAM)).as("the stalled stream's reset").isNull();
        assertThat(tunnel.server().http2UploadBytesHeld()).as("what the budget counts held")
                .isGreaterThanOrEqualTo(TINY_FRAMES * 129L);
        assertThat(allocatorMemory() - before)
                .as("what %d one-byte DATA frames waiting on a stalled stream keep of the allocator's memory", TINY_FRAMES)
                .isLessThanOrEqualTo(TINY_FRAMES * 129L + SLACK);
    }

    /**
     * The proxy keeps a small body it sent up a stream until the target answers, to send it again should the client
     * refuse the stream: it keeps a copy of its bytes, not each piece with the buffer it was read into.
     */
    @Test
    void tinyDataFramesOfAFlowingUploadKeepNoReadBuffers() throws Exception {
        visitor.post(STREAM, "/drain", 64 * 1024);
        await().atMost(60, TimeUnit.SECONDS).until(() -> target.draining() == 1);
        visitor.ping();
        long before = allocatorMemory();

        for (int i = 0; i < FLOWING_FRAMES; i++) {
            visitor.dataBehindFiller(STREAM, FILLER);
            visitor.ping();
        }

        assertThat(visitor.resetCode(STREAM)).as("the flowing stream's reset").isNull();
        assertThat(allocatorMemory() - before)
                .as("what %d one-byte DATA frames passed on into the tunnel, the target not answering, keep of the"
                        + " allocator's memory", FLOWING_FRAMES)
                .isLessThanOrEqualTo(FLOWING_FRAMES * KEPT_PER_PIECE + SLACK);
    }

    @Test
    void framesOfUnknownTypeOnAStalledStreamAreNotKept() throws Exception {
        stallStreamKeeping(0);
        long before = allocatorMemory();

        for (int i = 0; i < UNKNOWN_FRAMES; i++) {
            visitor.unknownFrame(0xff, STREAM, UNKNOWN_FRAME_LENGTH);
            visitor.ping();
        }

        assertThat(visitor.ended()).as("the connection ended").isFalse();
        assertThat(allocatorMemory() - before)
                .as("what %d frames of %d bytes of an unknown type on a stalled stream keep of the allocator's memory",
                        UNKNOWN_FRAMES, UNKNOWN_FRAME_LENGTH)
                .isLessThanOrEqualTo(SLACK);
    }

    /** Sends the body of a POST to the target, which reads none of it, until the stream's window has {@code keep} left. */
    private void stallStreamKeeping(int keep) throws IOException {
        AtomicLong sent = new AtomicLong();
        visitor.post(STREAM, "/stall", BODY);
        StalledSending.inTheBackground(() -> visitor.sendBodyKeeping(STREAM, BODY, sent, keep));
        await().atMost(60, TimeUnit.SECONDS).until(() -> target.stalled() == 1);
        StalledSending.awaitStopped(List.of(sent));
    }

    private static long allocatorMemory() {
        ByteBufAllocatorMetric metric = ((ByteBufAllocatorMetricProvider) ByteBufAllocator.DEFAULT).metric();
        return metric.usedDirectMemory() + metric.usedHeapMemory();
    }
}
