package io.picotunnel.protocol.buffer;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledDirectByteBuf;
import io.netty.buffer.UnpooledHeapByteBuf;

import java.util.ArrayList;
import java.util.List;

/** An allocator that records every buffer it gives out, for a test to check that each was released. */
public final class RecordingAllocator extends AbstractByteBufAllocator {

    /** Makes the buffers the allocator gives out. */
    public interface Buffers {
        ByteBuf make(ByteBufAllocator allocator, int initialCapacity, int maxCapacity, boolean direct);
    }

    /** The buffers given out, in order. */
    public final List<ByteBuf> allocated = new ArrayList<>();
    private final Buffers buffers;

    /** Unpooled heap and direct buffers. */
    public RecordingAllocator() {
        this((allocator, initialCapacity, maxCapacity, direct) -> direct
                ? new UnpooledDirectByteBuf(allocator, initialCapacity, maxCapacity)
                : new UnpooledHeapByteBuf(allocator, initialCapacity, maxCapacity));
    }

    /** Heap buffers whose {@code writeByte} throws {@code error}: a header written into one fails at its first byte. */
    public static RecordingAllocator failingOnWriteByte(Error error) {
        return new RecordingAllocator((allocator, initialCapacity, maxCapacity, direct) ->
                new UnpooledHeapByteBuf(allocator, initialCapacity, maxCapacity) {
                    @Override
                    public ByteBuf writeByte(int value) {
                        throw error;
                    }
                });
    }

    public RecordingAllocator(Buffers buffers) {
        super(false);
        this.buffers = buffers;
    }

    @Override
    protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
        return record(buffers.make(this, initialCapacity, maxCapacity, false));
    }

    @Override
    protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
        return record(buffers.make(this, initialCapacity, maxCapacity, true));
    }

    private ByteBuf record(ByteBuf buf) {
        allocated.add(buf);
        return buf;
    }

    @Override
    public boolean isDirectBufferPooled() {
        return false;
    }
}
