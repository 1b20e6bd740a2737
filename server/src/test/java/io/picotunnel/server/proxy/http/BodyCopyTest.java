package io.picotunnel.server.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledHeapByteBuf;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.LastHttpContent;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.assertj.core.api.Assertions.assertThat;

class BodyCopyTest {

    private final BodyCopyBudget budget = new BodyCopyBudget(2L * BodyCopy.MAX_BYTES);

    @Test
    void aPieceThatCannotBeCopiedLetsTheBodyGoAndLeavesThePieceToItsCaller() {
        ByteBuf piece = new UnpooledHeapByteBuf(new OutOfMemoryAllocator(), 16, 16).writeBytes(new byte[16]);
        BodyCopy copy = new BodyCopy(budget);

        copy.keep(new DefaultLastHttpContent(piece));

        assertThat(copy.isWhole()).as("a body that could not be copied can be sent again").isFalse();
        assertThat(piece.refCnt()).isEqualTo(1);
        assertThat(piece.readableBytes()).isEqualTo(16);
        assertThat(budget.held()).as("the bytes counted for the copy that failed").isZero();
        copy.keep(new DefaultLastHttpContent(Unpooled.wrappedBuffer(new byte[1])));
        assertThat(copy.isWhole()).as("a body let go stays let go").isFalse();
        piece.release();
    }

    @Test
    void keepsNothingOfTheBufferAPieceWasReadInto() {
        ByteBuf readBuffer = Unpooled.directBuffer(16 * 1024).writeBytes(new byte[16 * 1024]);
        BodyCopy copy = new BodyCopy(budget);

        copy.keep(new DefaultLastHttpContent(readBuffer.slice(100, 1)));
        readBuffer.release();

        assertThat(readBuffer.refCnt()).as("the read buffer's references once its own is released").isZero();
        assertThat(copy.isWhole()).isTrue();
        copy.release();
    }

    @Test
    void writesTheWholeBodyAndItsTrailersEachTime() {
        BodyCopy copy = new BodyCopy(budget);
        StringBuilder sent = new StringBuilder();
        for (int i = 0; i < 300; i++) {
            String part = "piece " + i + ";";
            copy.keep(new DefaultHttpContent(Unpooled.copiedBuffer(part, US_ASCII)));
            sent.append(part);
        }
        LastHttpContent last = new DefaultLastHttpContent(Unpooled.copiedBuffer("end", US_ASCII));
        last.trailingHeaders().add("x-checksum", "abc");
        copy.keep(last);
        sent.append("end");

        for (int time = 0; time < 2; time++) {
            List<HttpContent> written = new ArrayList<>();
            copy.writeTo(written::add);

            assertThat(written).hasSize(1);
            LastHttpContent body = (LastHttpContent) written.get(0);
            assertThat(body.content().toString(US_ASCII)).isEqualTo(sent.toString());
            assertThat(body.trailingHeaders().get("x-checksum")).isEqualTo("abc");
            body.release();
        }
        assertThat(copy.isWhole()).isTrue();
        copy.release();
    }

    @Test
    void keepsABodyOfExactlyMaxBytesAndLetsOneByteMoreGo() {
        assertThat(kept(BodyCopy.MAX_BYTES).isWhole()).isTrue();
        assertThat(kept(BodyCopy.MAX_BYTES + 1).isWhole()).isFalse();
    }

    private BodyCopy kept(int bodyBytes) {
        BodyCopy copy = new BodyCopy(budget);
        copy.keep(new DefaultHttpContent(Unpooled.wrappedBuffer(new byte[bodyBytes - 1])));
        copy.keep(new DefaultLastHttpContent(Unpooled.wrappedBuffer(new byte[1])));
        return copy;
    }

    @Test
    void aBodyPastWhatTheBudgetHasLeftIsLetGoAndTheBodiesBeforeKeepTheirs() {
        BodyCopy first = kept(BodyCopy.MAX_BYTES);
        BodyCopy second = kept(BodyCopy.MAX_BYTES / 2);
        ByteBuf piece = Unpooled.wrappedBuffer(new byte[BodyCopy.MAX_BYTES / 2 + 1]);
        BodyCopy third = new BodyCopy(budget);

        third.keep(new DefaultLastHttpContent(piece));

        assertThat(third.isWhole()).as("a body over what the budget has left can be sent again").isFalse();
        assertThat(piece.refCnt()).as("the piece, left to its caller").isEqualTo(1);
        assertThat(first.isWhole()).isTrue();
        assertThat(second.isWhole()).isTrue();
        assertThat(budget.held()).isEqualTo(BodyCopy.MAX_BYTES + BodyCopy.MAX_BYTES / 2);
        first.release();
        BodyCopy fourth = kept(BodyCopy.MAX_BYTES);
        assertThat(fourth.isWhole()).as("kept once the first body gave its bytes back").isTrue();
        second.release();
        fourth.release();
        third.release();
        assertThat(budget.held()).isZero();
        piece.release();
    }

    /**
     * Bodies kept whole, let go past {@link BodyCopy#MAX_BYTES}, past the budget, for want of memory, released twice or
     * kept on after being let go: each gives back what it took once, and the budget holds nothing once all are let go
     * (a count left behind would stop the retries for good).
     */
    @Test
    void everyByteCountedGoesBackOnceHoweverTheBodyIsLetGo() {
        List<BodyCopy> copies = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            BodyCopy copy = switch (i % 5) {
                case 0 -> kept(1 + i % 997);
                case 1 -> kept(BodyCopy.MAX_BYTES + 1);
                case 2 -> kept(BodyCopy.MAX_BYTES);
                case 3 -> keptWithoutMemory(16);
                default -> kept(BodyCopy.MAX_BYTES / 3);
            };
            if (i % 7 == 0) {
                copy.release();
                copy.keep(new DefaultLastHttpContent(Unpooled.wrappedBuffer(new byte[8])));
            }
            copies.add(copy);
            assertThat(budget.held()).as("after body %d", i).isBetween(0L, budget.limit());
            if (copies.size() == 3) {
                copies.forEach(BodyCopy::release);
                copies.forEach(BodyCopy::release);
                copies.clear();
            }
        }
        copies.forEach(BodyCopy::release);

        assertThat(budget.held()).isZero();
    }

    @Test
    void theDefaultBudgetIsASixteenthOfTheHeapAndKeepsOneWholeBodyAtLeast() {
        assertThat(BodyCopyBudget.defaultLimit(1024L * 1024 * 1024)).isEqualTo(64L * 1024 * 1024);
        assertThat(BodyCopyBudget.defaultLimit(512 * 1024)).isEqualTo(BodyCopy.MAX_BYTES);
    }

    private BodyCopy keptWithoutMemory(int bodyBytes) {
        ByteBuf piece = new UnpooledHeapByteBuf(new OutOfMemoryAllocator(), bodyBytes, bodyBytes)
                .writeBytes(new byte[bodyBytes]);
        BodyCopy copy = new BodyCopy(budget);
        copy.keep(new DefaultLastHttpContent(piece));
        piece.release();
        return copy;
    }
}
