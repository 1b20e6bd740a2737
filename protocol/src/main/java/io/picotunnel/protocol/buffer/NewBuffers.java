package io.picotunnel.protocol.buffer;

import io.netty.buffer.ByteBuf;

/**
 * A buffer the caller holds a reference of and would hand on (one just allocated, or a retained slice to unmask in
 * place), filled or changed by a method that may throw: an encoding refused, a copy out of a released buffer, an
 * OutOfMemoryError or a StackOverflowError while copying. That reference is released before the throw goes on, so the
 * failure leaks nothing. The filler gets its source as an argument: a method reference or a lambda that captures
 * nothing is one shared instance, and the data path allocates no object for it.
 */
public final class NewBuffers {

    /** Writes {@code source} (or what is made of it) to {@code buffer}, or changes {@code buffer} as it says. */
    @FunctionalInterface
    public interface Filler<B extends ByteBuf, S> {
        void fill(B buffer, S source);
    }

    private NewBuffers() {
    }

    /** {@code buffer} once {@code filler} ran on it with {@code source}; released, the throw passed on, if it threw. */
    public static <B extends ByteBuf, S> B filled(B buffer, S source, Filler<? super B, ? super S> filler) {
        try {
            filler.fill(buffer, source);
            return buffer;
        } catch (RuntimeException | Error e) {
            buffer.release();
            throw e;
        }
    }
}
