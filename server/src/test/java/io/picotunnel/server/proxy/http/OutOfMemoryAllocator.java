package io.picotunnel.server.proxy.http;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;

/** An allocator out of memory, as Netty's pooled one is once direct memory runs out: every allocation throws. */
final class OutOfMemoryAllocator extends AbstractByteBufAllocator {

    @Override
    protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
        throw new OutOfMemoryError("no heap left for the test");
    }

    @Override
    protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
        throw new OutOfMemoryError("no direct memory left for the test");
    }

    @Override
    public boolean isDirectBufferPooled() {
        return false;
    }
}
