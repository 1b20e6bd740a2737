package io.picotunnel.bench.traffic;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

import java.util.SplittableRandom;

/** Buffers of random bytes that benchmarks share between writes. */
public final class Payloads {

    /** The size of every write of a throughput benchmark. */
    public static final int CHUNK_BYTES = 16 * 1024;

    private Payloads() {
    }

    /** A direct buffer of {@code size} random bytes (the same bytes on every run); release it when done. */
    public static ByteBuf random(int size) {
        byte[] bytes = new byte[size];
        SplittableRandom random = new SplittableRandom(size);
        for (int i = 0; i < size; i++) {
            bytes[i] = (byte) random.nextInt(256);
        }
        return Unpooled.directBuffer(size).writeBytes(bytes);
    }
}
