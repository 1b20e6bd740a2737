package io.picotunnel.protocol.buffer;

import io.netty.buffer.ByteBufAllocatorMetric;
import io.netty.buffer.UnpooledByteBufAllocator;

import static org.assertj.core.api.Assertions.assertThat;

/** Whether a test's buffers were all released: an allocator that counts what it gave out and the check of it. */
public final class Leaks {

    private Leaks() {
    }

    /** Unpooled heap and direct buffers; its metric counts the bytes given out and not released yet. */
    public static UnpooledByteBufAllocator countingAllocator() {
        return new UnpooledByteBufAllocator(false);
    }

    /** Every byte {@code allocator} gave out is released; {@code buffers} names them in the failure. */
    public static void assertAllReleased(UnpooledByteBufAllocator allocator, String buffers) {
        ByteBufAllocatorMetric metric = allocator.metric();
        assertThat(metric.usedDirectMemory() + metric.usedHeapMemory()).as("bytes of " + buffers + " not released")
                .isZero();
    }
}
