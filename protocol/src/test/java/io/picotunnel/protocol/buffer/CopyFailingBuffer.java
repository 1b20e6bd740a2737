package io.picotunnel.protocol.buffer;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.buffer.UnpooledHeapByteBuf;

/** A heap buffer whose bytes cannot be copied out: every copy throws the error given (array access hidden). */
public final class CopyFailingBuffer {

    private CopyFailingBuffer() {
    }

    /** {@code length} zero bytes, readable; a copy of any of them throws {@code error}. */
    public static ByteBuf of(int length, Error error) {
        return of(length, error, false);
    }

    /** As {@link #of(int, Error)}, and asking for its NIO views throws too: no copy gets round it through them. */
    public static ByteBuf withoutViews(int length, Error error) {
        return of(length, error, true);
    }

    private static ByteBuf of(int length, Error error, boolean viewsThrow) {
        return new UnpooledHeapByteBuf(UnpooledByteBufAllocator.DEFAULT, length, length) {
            @Override
            public boolean hasArray() {
                return false;
            }

            @Override
            public int nioBufferCount() {
                if (viewsThrow) {
                    throw error;
                }
                return super.nioBufferCount();
            }

            @Override
            public ByteBuf getBytes(int index, ByteBuf dst, int dstIndex, int length) {
                throw error;
            }

            @Override
            public ByteBuf getBytes(int index, byte[] dst, int dstIndex, int length) {
                throw error;
            }
        }.writeZero(length);
    }
}
