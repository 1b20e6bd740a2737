package io.picotunnel.protocol.yamux;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelPromise;

import io.netty.buffer.ByteBufAllocator;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Bytes written to a stream and not yet sent (the send window or the parent does not allow it yet), in
 * order. Only flushed entries may be sent. The stream channel's writability follows {@link #bytes()}.
 */
final class OutboundQueue {

    /** Bytes to send as one frame; {@code completes} are the promises of the entries it finishes. */
    record Chunk(ByteBuf data, List<ChannelPromise> completes) {
    }

    /** Entries below this size are merged with the following small ones into one frame (and one copy). */
    static final int MERGE_BELOW = 8 * 1024;

    private record Entry(ByteBuf buf, ChannelPromise promise) {
    }

    private final ArrayDeque<Entry> entries = new ArrayDeque<>();
    /** The last {@code unflushed} entries were written but not flushed yet. */
    private int unflushed;
    private long bytes;

    void add(ByteBuf buf, ChannelPromise promise) {
        entries.add(new Entry(buf, promise));
        unflushed++;
        bytes += buf.readableBytes();
    }

    void markFlushed() {
        unflushed = 0;
    }

    boolean hasFlushed() {
        return entries.size() > unflushed;
    }

    /** The first flushed entry has no bytes (call only when {@link #hasFlushed()}). */
    boolean headIsEmpty() {
        return !entries.peek().buf().isReadable();
    }

    boolean isEmpty() {
        return entries.isEmpty();
    }

    long bytes() {
        return bytes;
    }

    /**
     * Takes at most {@code max} bytes from the flushed entries (call only when {@link #hasFlushed()}): part or all
     * of the first one, or several small ones merged into one buffer, so that many small writes become one frame.
     */
    Chunk take(int max, ByteBufAllocator alloc) {
        Entry head = entries.peek();
        ByteBuf buf = head.buf();
        int readable = buf.readableBytes();
        if (readable > max) {
            bytes -= max;
            return new Chunk(buf.readRetainedSlice(max), List.of());
        }
        entries.poll();
        bytes -= readable;
        if (readable >= MERGE_BELOW || !nextMerges(max - readable)) {
            return new Chunk(buf, List.of(head.promise()));
        }
        ByteBuf merged = alloc.buffer(Math.min(max, 4 * MERGE_BELOW));
        List<ChannelPromise> promises = new ArrayList<>(4);
        merged.writeBytes(buf);
        buf.release();
        promises.add(head.promise());
        while (nextMerges(max - merged.readableBytes())) {
            Entry next = entries.poll();
            int length = next.buf().readableBytes();
            bytes -= length;
            merged.writeBytes(next.buf());
            next.buf().release();
            promises.add(next.promise());
        }
        return new Chunk(merged, promises);
    }

    private boolean nextMerges(int room) {
        if (!hasFlushed()) {
            return false;
        }
        int length = entries.peek().buf().readableBytes();
        return length < MERGE_BELOW && length <= room;
    }

    void failAll(Throwable cause) {
        Entry e;
        while ((e = entries.poll()) != null) {
            e.buf().release();
            e.promise().tryFailure(cause);
        }
        unflushed = 0;
        bytes = 0;
    }
}
