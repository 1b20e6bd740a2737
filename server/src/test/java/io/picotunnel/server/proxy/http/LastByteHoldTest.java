package io.picotunnel.server.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import org.junit.jupiter.api.Test;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.assertj.core.api.Assertions.assertThat;

class LastByteHoldTest {

    @Test
    void anHttp2BodyOfAnnouncedLengthGoesUpWithoutItsLastByteUntilTheStreamEnds() {
        LastByteHold hold = LastByteHold.of(post("10"), true);

        assertThat(passedOn(hold, new DefaultHttpContent(ascii("01234")))).isEqualTo("01234");
        assertThat(passedOn(hold, new DefaultHttpContent(ascii("56789")))).isEqualTo("5678");
        LastHttpContent end = new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER);
        end.trailingHeaders().add("x-checksum", "abc");
        HttpContent last = hold.passOn(end);

        assertThat(last).isInstanceOf(LastHttpContent.class);
        assertThat(((LastHttpContent) last).trailingHeaders().get("x-checksum")).isEqualTo("abc");
        assertThat(last.content().toString(US_ASCII)).isEqualTo("9");
        last.release();
    }

    @Test
    void theByteHeldIsLetGoWhenTheBodyNeverEnds() {
        LastByteHold hold = LastByteHold.of(post("3"), true);
        UnpooledByteBufAllocator alloc = new UnpooledByteBufAllocator(false);
        ByteBuf piece = alloc.heapBuffer(3).writeBytes(ascii("abc"));

        passedOn(hold, new DefaultHttpContent(piece));
        assertThat(alloc.metric().usedHeapMemory()).as("the byte held").isPositive();
        hold.release();

        assertThat(piece.refCnt()).isZero();
        assertThat(alloc.metric().usedHeapMemory()).as("once let go").isZero();
    }

    @Test
    void theByteHeldKeepsNoneOfTheBufferItWasReadInto() {
        LastByteHold hold = LastByteHold.of(post("3"), true);
        ByteBuf read = Unpooled.buffer(16 * 1024).writeZero(16 * 1024 - 3).writeBytes(ascii("abc"));
        ByteBuf piece = read.retainedSlice(16 * 1024 - 3, 3);
        read.release();

        assertThat(passedOn(hold, new DefaultHttpContent(piece))).isEqualTo("ab");

        assertThat(read.refCnt()).as("the 16 KiB read buffer, once the piece before the held byte is written").isZero();
        HttpContent last = hold.passOn(LastHttpContent.EMPTY_LAST_CONTENT);
        assertThat(last.content().toString(US_ASCII)).isEqualTo("c");
        last.release();
    }

    @Test
    void aBodyLongerThanAnnouncedStillGoesUpInOrder() {
        LastByteHold hold = LastByteHold.of(post("3"), true);
        StringBuilder up = new StringBuilder();

        for (String piece : new String[] {"ab", "cd", "e"}) {
            up.append(passedOn(hold, new DefaultHttpContent(ascii(piece))));
        }
        HttpContent last = hold.passOn(LastHttpContent.EMPTY_LAST_CONTENT);
        up.append(last.content().toString(US_ASCII));
        last.release();

        assertThat(up).hasToString("abcde");
    }

    @Test
    void nothingIsHeldOverHttp1OrWithoutAContentLength() {
        assertThat(passedOn(LastByteHold.of(post("3"), false), new DefaultHttpContent(ascii("abc")))).isEqualTo("abc");
        HttpRequest unknownLength = post("3");
        unknownLength.headers().remove("content-length");
        assertThat(passedOn(LastByteHold.of(unknownLength, true), new DefaultHttpContent(ascii("abc"))))
                .isEqualTo("abc");
    }

    private static String passedOn(LastByteHold hold, HttpContent content) {
        HttpContent passed = hold.passOn(content);
        String text = passed.content().toString(US_ASCII);
        passed.release();
        return text;
    }

    private static HttpRequest post(String contentLength) {
        HttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/");
        request.headers().set("content-length", contentLength);
        return request;
    }

    private static ByteBuf ascii(String text) {
        return Unpooled.copiedBuffer(text, US_ASCII);
    }
}
