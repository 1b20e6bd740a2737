package io.picotunnel.server.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Which waiting DATA frames get a copy of their own bytes: those that are less than half the buffer they were sliced
 * from (Netty's frame reader slices each payload out of the buffer its TLS records were decrypted into, 64 KiB and more
 * for one read), whatever their size; not those that are most of their buffer.
 */
class Http2UploadBudgetCopyTest {

    private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;

    @Test
    void aFrameOf4KiBSlicedFromA64KiBReadBufferIsCopiedAndTheBufferLetGo() {
        ByteBuf read = alloc.directBuffer(64 * 1024).writeZero(64 * 1024);
        Http2DataFrame frame = new DefaultHttp2DataFrame(read.retainedSlice(1000, 4096), false);
        read.release();

        Http2DataFrame own = Http2UploadBudget.withOwnBytes(frame, alloc);

        assertThat(own).isNotSameAs(frame);
        assertThat(own.content().readableBytes()).isEqualTo(4096);
        assertThat(own.content().capacity()).as("no more than its bytes, rounded").isLessThan(8192);
        assertThat(read.refCnt()).as("the read buffer, let go").isZero();
        own.release();
    }

    @Test
    void aOneByteFrameIsCopiedAndKeepsItsEndAndPadding() {
        ByteBuf read = alloc.heapBuffer(16 * 1024).writeZero(16 * 1024);
        Http2DataFrame frame = new DefaultHttp2DataFrame(read.retainedSlice(16_000, 1), true, 7);
        read.release();

        Http2DataFrame own = Http2UploadBudget.withOwnBytes(frame, alloc);

        assertThat(own.content().readableBytes()).isEqualTo(1);
        assertThat(own.isEndStream()).isTrue();
        assertThat(own.padding()).isEqualTo(7);
        assertThat(own.initialFlowControlledBytes()).isEqualTo(frame.initialFlowControlledBytes());
        assertThat(read.refCnt()).isZero();
        own.release();
    }

    @Test
    void aFrameThatIsMostOfItsBufferIsNotCopied() {
        ByteBuf read = alloc.directBuffer(20 * 1024).writeZero(20 * 1024);
        Http2DataFrame frame = new DefaultHttp2DataFrame(read.retainedSlice(0, 16 * 1024), false);
        read.release();

        assertThat(Http2UploadBudget.withOwnBytes(frame, alloc)).isSameAs(frame);
        frame.release();
    }

    @Test
    void withoutMemoryForTheCopyTheFrameStaysAsItIs() {
        ByteBuf read = alloc.directBuffer(64 * 1024).writeZero(64 * 1024);
        Http2DataFrame frame = new DefaultHttp2DataFrame(read.retainedSlice(0, 100), false);
        read.release();

        assertThat(Http2UploadBudget.withOwnBytes(frame, new OutOfMemoryAllocator())).isSameAs(frame);
        assertThat(frame.refCnt()).as("neither released nor leaked: still the caller's").isEqualTo(1);
        frame.release();
    }
}
