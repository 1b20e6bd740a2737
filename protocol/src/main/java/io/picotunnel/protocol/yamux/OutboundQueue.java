package io.picotunnel.protocol.yamux;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelPromise;

import io.netty.buffer.ByteBufAllocator;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
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
     * The merged buffer has the size of what it merges, asked of the allocator once: a buffer of 32 KiB for a request
     * head of a few hundred bytes was past the sizes Netty's adaptive allocator pools, and each one a new direct buffer
     * (allocated, zeroed, freed): 9.8% of the server loop's samples in HttpRequestBenchmark's http path. A write
     * followed only by empty ones (a request head and its end) is sent as it is, without a copy.
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
        int total = readable + mergedBytes(max - readable);
        ByteBuf merged = buf;
        if (total > readable) {
            merged = alloc.buffer(total, total);
            merged.writeBytes(buf);
            buf.release();
        }
        List<ChannelPromise> promises = new ArrayList<>(4);
        promises.add(head.promise());
        int taken = readable;
        while (nextMerges(max - taken)) {
            Entry next = entries.poll();
            int length = next.buf().readableBytes();
            bytes -= length;
            taken += length;
            if (length > 0) {
                merged.writeBytes(next.buf());
            }
            next.buf().release();
            promises.add(next.promise());
        }
        return new Chunk(merged, promises);
    }

    /** The bytes of the flushed entries after the first that {@link #nextMerges} will take, within {@code room}. */
    private int mergedBytes(int room) {
        int flushed = entries.size() - unflushed;
        int total = 0;
        Iterator<Entry> it = entries.iterator();
        for (int i = 0; i < flushed; i++) {
            int length = it.next().buf().readableBytes();
            if (!merges(length, room - total)) {
                break;
            }
            total += length;
        }
        return total;
    }

    private boolean nextMerges(int room) {
        return hasFlushed() && merges(entries.peek().buf().readableBytes(), room);
    }

    /**
     * Whether an entry of {@code length} bytes joins a merge with {@code room} bytes left: {@link #mergedBytes} sizes
     * the buffer with it and {@link #take} then fills it, so the two must agree to the byte.
     */
    private static boolean merges(int length, int room) {
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
