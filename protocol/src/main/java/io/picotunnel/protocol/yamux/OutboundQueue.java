package io.picotunnel.protocol.yamux;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelPromise;

import io.netty.buffer.ByteBufAllocator;
import io.netty.util.ReferenceCountUtil;

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
     * followed only by empty ones (a request head and its end) is sent as it is, without a copy. The merge is filled
     * before any entry leaves the queue, so a copy that fails leaves the queue as it was, the merged buffer released.
     */
    Chunk take(int max, ByteBufAllocator alloc) {
        Entry head = entries.peek();
        ByteBuf buf = head.buf();
        int readable = buf.readableBytes();
        if (readable > max) {
            ByteBuf part = buf.readRetainedSlice(max);
            bytes -= max;
            return new Chunk(part, List.of());
        }
        if (readable >= MERGE_BELOW || entries.size() - unflushed == 1) {
            // Sent as it is, nothing merged with it (too large to merge, or the only write flushed): asked before
            // merge(), which allocates its iterator and record.
            return takeHead(head);
        }
        Merge merge = merge(max);
        if (merge.entries() == 1) {
            return takeHead(head);
        }
        ByteBuf merged = merge.bytes() > readable ? copyOfFirst(merge, alloc) : buf;
        List<ChannelPromise> promises = new ArrayList<>(Math.min(merge.entries(), 16));
        for (int i = 0; i < merge.entries(); i++) {
            Entry taken = entries.poll();
            if (taken.buf() != merged) {
                // safeRelease: an empty buffer its writer already released (the copy skips it) must not throw here,
                // with entries already out of the queue and their promises in no chunk.
                ReferenceCountUtil.safeRelease(taken.buf());
            }
            promises.add(taken.promise());
        }
        bytes -= merge.bytes();
        return new Chunk(merged, promises);
    }

    /** The whole first entry leaves as one chunk. */
    private Chunk takeHead(Entry head) {
        entries.poll();
        bytes -= head.buf().readableBytes();
        return new Chunk(head.buf(), List.of(head.promise()));
    }

    /** The first {@code entries} entries, of {@code bytes} bytes in all, leave as one chunk. */
    private record Merge(int entries, int bytes) {
    }

    /**
     * The flushed entries that leave with the first one (which fits in {@code max} and is below
     * {@link #MERGE_BELOW}): those after it while each is below {@link #MERGE_BELOW} and fits in the room left.
     */
    private Merge merge(int max) {
        int flushed = entries.size() - unflushed;
        Iterator<Entry> it = entries.iterator();
        int total = it.next().buf().readableBytes();
        int count = 1;
        while (count < flushed) {
            int length = it.next().buf().readableBytes();
            if (length >= MERGE_BELOW || length > max - total) {
                break;
            }
            total += length;
            count++;
        }
        return new Merge(count, total);
    }

    /** A buffer of exactly the merge's size holding its entries' bytes; the entries keep theirs. */
    private ByteBuf copyOfFirst(Merge merge, ByteBufAllocator alloc) {
        ByteBuf merged = alloc.buffer(merge.bytes(), merge.bytes());
        try {
            Iterator<Entry> it = entries.iterator();
            for (int i = 0; i < merge.entries(); i++) {
                ByteBuf buf = it.next().buf();
                if (buf.isReadable()) {
                    merged.writeBytes(buf, buf.readerIndex(), buf.readableBytes());
                }
            }
        } catch (RuntimeException | Error e) {
            merged.release();
            throw e;
        }
        return merged;
    }

    /**
     * Fails every write and releases its buffer; one its writer already released (a take that failed on it left it
     * here) is logged and does not keep the others from failing.
     */
    void failAll(Throwable cause) {
        Entry e;
        while ((e = entries.poll()) != null) {
            ReferenceCountUtil.safeRelease(e.buf());
            e.promise().tryFailure(cause);
        }
        unflushed = 0;
        bytes = 0;
    }
}
