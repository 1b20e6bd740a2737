package io.picotunnel.server.proxy.http;

import io.netty.buffer.AbstractByteBufAllocator;
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

    @Test
    void aPieceThatCannotBeCopiedLetsTheBodyGoAndLeavesThePieceToItsCaller() {
        ByteBuf piece = new UnpooledHeapByteBuf(new OutOfMemoryAllocator(), 16, 16).writeBytes(new byte[16]);
        BodyCopy copy = new BodyCopy();

        copy.keep(new DefaultLastHttpContent(piece));

        assertThat(copy.isWhole()).as("a body that could not be copied can be sent again").isFalse();
        assertThat(piece.refCnt()).isEqualTo(1);
        assertThat(piece.readableBytes()).isEqualTo(16);
        copy.keep(new DefaultLastHttpContent(Unpooled.wrappedBuffer(new byte[1])));
        assertThat(copy.isWhole()).as("a body let go stays let go").isFalse();
        piece.release();
    }

    @Test
    void keepsNothingOfTheBufferAPieceWasReadInto() {
        ByteBuf readBuffer = Unpooled.directBuffer(16 * 1024).writeBytes(new byte[16 * 1024]);
        BodyCopy copy = new BodyCopy();

        copy.keep(new DefaultLastHttpContent(readBuffer.slice(100, 1)));
        readBuffer.release();

        assertThat(readBuffer.refCnt()).as("the read buffer's references once its own is released").isZero();
        assertThat(copy.isWhole()).isTrue();
        copy.release();
    }

    @Test
    void writesTheWholeBodyAndItsTrailersEachTime() {
        BodyCopy copy = new BodyCopy();
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

    private static BodyCopy kept(int bodyBytes) {
        BodyCopy copy = new BodyCopy();
        copy.keep(new DefaultHttpContent(Unpooled.wrappedBuffer(new byte[bodyBytes - 1])));
        copy.keep(new DefaultLastHttpContent(Unpooled.wrappedBuffer(new byte[1])));
        return copy;
    }

    /** An allocator out of memory, as Netty's pooled one is once direct memory runs out. */
    private static final class OutOfMemoryAllocator extends AbstractByteBufAllocator {

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
}
