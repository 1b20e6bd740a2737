package io.picotunnel.protocol.yamux;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelPromise;

import java.util.ArrayDeque;

/**
 * Bytes written to a stream and not yet sent (the send window or the parent does not allow it yet), in
 * order. Only flushed entries may be sent. The stream channel's writability follows {@link #bytes()}.
 */
final class OutboundQueue {

    /** A piece of the head entry to send; {@code completes} is the entry's promise once it is fully taken. */
    record Chunk(ByteBuf data, ChannelPromise completes) {
    }

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

    /** Takes at most {@code max} bytes of the first flushed entry (call only when {@link #hasFlushed()}). */
    Chunk take(int max) {
        Entry head = entries.peek();
        ByteBuf buf = head.buf();
        int readable = buf.readableBytes();
        if (readable <= max) {
            entries.poll();
            bytes -= readable;
            return new Chunk(buf, head.promise());
        }
        bytes -= max;
        return new Chunk(buf.readRetainedSlice(max), null);
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
