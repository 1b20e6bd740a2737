package io.picotunnel.protocol.yamux;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.picotunnel.protocol.buffer.CopyFailingBuffer;
import io.picotunnel.protocol.buffer.Leaks;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class OutboundQueueTest {

    private static final int MAX = YamuxSpec.INITIAL_STREAM_WINDOW;

    private final EmbeddedChannel channel = new EmbeddedChannel();
    private final OutboundQueue queue = new OutboundQueue();

    @AfterEach
    void tearDown() {
        queue.failAll(new IllegalStateException("test over"));
        channel.finishAndReleaseAll();
    }

    @Test
    void smallWritesAreMergedIntoABufferOfTheirOwnSize() {
        ChannelPromise first = add("GET / HTTP/1.1\r\n");
        ChannelPromise second = add("Host: a\r\n\r\n");
        ChannelPromise unflushed = channel.newPromise();
        queue.markFlushed();
        queue.add(Unpooled.copiedBuffer("not yet", StandardCharsets.US_ASCII), unflushed);

        OutboundQueue.Chunk chunk = queue.take(MAX, UnpooledByteBufAllocator.DEFAULT);

        assertThat(chunk.data().toString(StandardCharsets.US_ASCII)).isEqualTo("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assertThat(chunk.data().capacity()).as("no room beyond the merged bytes").isEqualTo(27);
        assertThat(chunk.completes()).containsExactly(first, second);
        assertThat(queue.bytes()).isEqualTo("not yet".length());
        assertThat(queue.hasFlushed()).isFalse();
        chunk.data().release();
    }

    @Test
    void aWriteFollowedOnlyByEmptyOnesIsTakenWithoutACopy() {
        ByteBuf head = Unpooled.copiedBuffer("GET / HTTP/1.1\r\nHost: a\r\n\r\n", StandardCharsets.US_ASCII);
        ChannelPromise headWritten = channel.newPromise();
        queue.add(head, headWritten);
        ByteBuf end = Unpooled.buffer(0);
        ChannelPromise endWritten = channel.newPromise();
        queue.add(end, endWritten);
        queue.markFlushed();

        OutboundQueue.Chunk chunk = queue.take(MAX, UnpooledByteBufAllocator.DEFAULT);

        assertThat(chunk.data()).isSameAs(head);
        assertThat(chunk.completes()).containsExactly(headWritten, endWritten);
        assertThat(end.refCnt()).as("the empty write is let go").isZero();
        assertThat(queue.isEmpty()).isTrue();
        chunk.data().release();
    }

    @Test
    void aLoneSmallFlushedWriteIsTakenAsItIsAndTheUnflushedOnesStay() {
        ChannelPromise headWritten = add("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        queue.markFlushed();
        add("not yet");

        OutboundQueue.Chunk chunk = queue.take(MAX, UnpooledByteBufAllocator.DEFAULT);

        assertThat(chunk.data().toString(StandardCharsets.US_ASCII)).isEqualTo("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assertThat(chunk.completes()).containsExactly(headWritten);
        assertThat(queue.bytes()).isEqualTo("not yet".length());
        assertThat(queue.hasFlushed()).isFalse();
        chunk.data().release();
    }

    @Test
    void mergingStopsAtTheRoomLeftAndAtALargeWrite() {
        add("a".repeat(100));
        add("b".repeat(50));
        add("c".repeat(OutboundQueue.MERGE_BELOW));
        queue.markFlushed();

        OutboundQueue.Chunk first = queue.take(120, UnpooledByteBufAllocator.DEFAULT);
        assertThat(first.data().toString(StandardCharsets.US_ASCII)).isEqualTo("a".repeat(100));
        assertThat(first.completes()).hasSize(1);
        first.data().release();

        OutboundQueue.Chunk second = queue.take(MAX, UnpooledByteBufAllocator.DEFAULT);
        assertThat(second.data().toString(StandardCharsets.US_ASCII)).isEqualTo("b".repeat(50));
        assertThat(second.completes()).hasSize(1);
        second.data().release();
    }

    @Test
    void aMergeThatFillsTheRoomExactlyTakesTheLastWriteThatFits() {
        ByteBuf first = Unpooled.copiedBuffer("a".repeat(10), StandardCharsets.US_ASCII);
        queue.add(first, channel.newPromise());
        ByteBuf second = Unpooled.copiedBuffer("b".repeat(20), StandardCharsets.US_ASCII);
        queue.add(second, channel.newPromise());
        ByteBuf third = Unpooled.copiedBuffer("c".repeat(30), StandardCharsets.US_ASCII);
        queue.add(third, channel.newPromise());
        add("d".repeat(40));
        queue.markFlushed();

        OutboundQueue.Chunk chunk = queue.take(60, UnpooledByteBufAllocator.DEFAULT);

        assertThat(chunk.data().toString(StandardCharsets.US_ASCII))
                .isEqualTo("a".repeat(10) + "b".repeat(20) + "c".repeat(30));
        assertThat(chunk.data().capacity()).isEqualTo(60);
        assertThat(chunk.completes()).hasSize(3);
        assertThat(first.refCnt() + second.refCnt() + third.refCnt()).as("the merged writes are let go").isZero();
        assertThat(queue.bytes()).isEqualTo(40);
        chunk.data().release();
    }

    @Test
    void manyOneByteWritesMergeIntoOneChunkOfAtMostTheRoom() {
        for (int i = 0; i < 1000; i++) {
            add("x");
        }
        queue.markFlushed();

        OutboundQueue.Chunk chunk = queue.take(300, UnpooledByteBufAllocator.DEFAULT);

        assertThat(chunk.data().readableBytes()).isEqualTo(300);
        assertThat(chunk.data().capacity()).isEqualTo(300);
        assertThat(chunk.completes()).hasSize(300);
        assertThat(queue.bytes()).isEqualTo(700);
        chunk.data().release();
    }

    /**
     * A write whose buffer its writer already released, left in the queue by a merge that failed on it, does not keep
     * failAll from failing the writes behind it and releasing their buffers: its release threw, and the rest stayed.
     */
    @Test
    void failAllFailsEveryWriteWhenOneBufferWasAlreadyReleased() {
        ByteBuf released = Unpooled.copiedBuffer("gone", StandardCharsets.US_ASCII);
        ChannelPromise releasedWritten = channel.newPromise();
        queue.add(released, releasedWritten);
        released.release();
        ByteBuf next = Unpooled.copiedBuffer("next", StandardCharsets.US_ASCII);
        ChannelPromise nextWritten = channel.newPromise();
        queue.add(next, nextWritten);
        IllegalStateException cause = new IllegalStateException("stream reset");

        queue.failAll(cause);

        assertThat(releasedWritten.cause()).isSameAs(cause);
        assertThat(nextWritten.cause()).isSameAs(cause);
        assertThat(next.refCnt()).as("the next write's buffer released").isZero();
        assertThat(queue.isEmpty()).isTrue();
        assertThat(queue.bytes()).isZero();
    }

    /**
     * An Error while small writes are copied into their merged buffer (an OutOfMemoryError, a StackOverflowError; here
     * from the second write) fails the take with the merged buffer released and the queue as it was: the merged
     * buffer leaked, and so did the first write, already out of the queue.
     */
    @Test
    void anErrorWhileSmallWritesAreMergedReleasesTheMergedBufferAndLeavesTheQueueAsItWas() {
        ByteBuf first = Unpooled.copiedBuffer("a".repeat(10), StandardCharsets.US_ASCII);
        ChannelPromise firstWritten = channel.newPromise();
        queue.add(first, firstWritten);
        StackOverflowError error = new StackOverflowError("while merging");
        ByteBuf second = CopyFailingBuffer.of(16, error);
        queue.add(second, channel.newPromise());
        queue.markFlushed();
        UnpooledByteBufAllocator allocator = Leaks.countingAllocator();

        assertThatThrownBy(() -> queue.take(MAX, allocator)).isSameAs(error);

        Leaks.assertAllReleased(allocator, "the merged buffer");
        assertThat(queue.bytes()).isEqualTo(26);
        assertThat(first.refCnt() + second.refCnt()).as("both writes still queued").isEqualTo(2);
        assertThat(first.readableBytes()).isEqualTo(10);
        assertThat(firstWritten.isDone()).isFalse();
    }

    /**
     * An empty write whose buffer its writer already released, merged with others (the copy skips what is empty), is
     * taken with them: its release threw IllegalReferenceCountException with the entries before it already out of the
     * queue, their promises in no chunk and the merged buffer leaked.
     */
    @Test
    void anEmptyWriteReleasedByItsWriterIsTakenWithTheWritesMergedAroundIt() {
        ChannelPromise head = add("GET / HTTP/1.1\r\n");
        ByteBuf empty = Unpooled.buffer(4);
        ChannelPromise emptyWritten = channel.newPromise();
        queue.add(empty, emptyWritten);
        empty.release();
        ChannelPromise tail = add("\r\n");
        queue.markFlushed();

        OutboundQueue.Chunk chunk = queue.take(MAX, UnpooledByteBufAllocator.DEFAULT);

        assertThat(chunk.data().toString(StandardCharsets.US_ASCII)).isEqualTo("GET / HTTP/1.1\r\n\r\n");
        assertThat(chunk.completes()).containsExactly(head, emptyWritten, tail);
        assertThat(queue.isEmpty()).isTrue();
        assertThat(queue.bytes()).isZero();
        chunk.data().release();
    }

    private ChannelPromise add(String text) {
        ChannelPromise promise = channel.newPromise();
        queue.add(Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII), promise);
        return promise;
    }
}
