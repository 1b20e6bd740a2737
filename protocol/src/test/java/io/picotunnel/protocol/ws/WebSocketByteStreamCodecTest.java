package io.picotunnel.protocol.ws;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.picotunnel.protocol.yamux.YamuxSpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class WebSocketByteStreamCodecTest {

    private final EmbeddedChannel channel = new EmbeddedChannel(new WebSocketByteStreamCodec());

    @AfterEach
    void tearDown() {
        channel.finishAndReleaseAll();
    }

    @Test
    void binaryFramePayloadIsReadAsBytes() {
        channel.writeInbound(new BinaryWebSocketFrame(bytes("hello")));

        ByteBuf read = channel.readInbound();
        assertThat(read.toString(StandardCharsets.US_ASCII)).isEqualTo("hello");
        read.release();
    }

    @Test
    void continuationFramesOfAFragmentedBinaryMessageAreReadInOrder() {
        channel.writeInbound(new BinaryWebSocketFrame(false, 0, bytes("ab")));
        channel.writeInbound(new ContinuationWebSocketFrame(false, 0, bytes("cd")));
        channel.writeInbound(new ContinuationWebSocketFrame(true, 0, bytes("ef")));

        assertThat(readAllInbound()).isEqualTo("abcdef");
    }

    @Test
    void emptyBinaryFramesAreSkipped() {
        channel.writeInbound(new BinaryWebSocketFrame(Unpooled.EMPTY_BUFFER));

        Object read = channel.readInbound();
        assertThat(read).isNull();
    }

    @Test
    void textFrameClosesWithProtocolErrorAndDropsTheRest() {
        channel.writeInbound(
                new TextWebSocketFrame(false, 0, "oops"),
                new ContinuationWebSocketFrame(true, 0, bytes("more")),
                new BinaryWebSocketFrame(bytes("late")));

        CloseWebSocketFrame close = channel.readOutbound();
        assertThat(close.statusCode()).isEqualTo(WebSocketCloseStatus.PROTOCOL_ERROR.code());
        close.release();
        Object read = channel.readInbound();
        assertThat(read).isNull();
        assertThat(channel.isOpen()).isFalse();
    }

    @Test
    void controlFramesPassThroughForTheProtocolHandler() {
        channel.writeInbound(new PingWebSocketFrame(bytes("p")));

        PingWebSocketFrame ping = channel.readInbound();
        assertThat(ping).isNotNull();
        ping.release();
    }

    @Test
    void aYamuxDataFrameOfTheLargestSizeWeSendGoesOutAsOneFrame() {
        // 64 KiB of data (YamuxChildChannel.MAX_DATA_CHUNK) behind its 12-byte header, as the yamux encoder writes it
        ByteBuf frameBytes = Unpooled.wrappedBuffer(new byte[64 * 1024 + YamuxSpec.HEADER_LENGTH]);

        channel.writeOutbound(frameBytes);

        BinaryWebSocketFrame frame = channel.readOutbound();
        assertThat(frame.content().readableBytes()).isEqualTo(64 * 1024 + YamuxSpec.HEADER_LENGTH);
        frame.release();
        Object next = channel.readOutbound();
        assertThat(next).as("no second frame for the header's 12 bytes").isNull();
    }

    @Test
    void outboundBytesBecomeBinaryFramesOfAtMostTheLargestPayload() {
        byte[] data = new byte[WebSocketByteStreamCodec.MAX_FRAME_PAYLOAD * 2 + 100];
        new Random(7).nextBytes(data);

        channel.writeOutbound(Unpooled.wrappedBuffer(data));

        ByteBuf joined = Unpooled.buffer();
        int frames = 0;
        BinaryWebSocketFrame frame;
        while ((frame = channel.readOutbound()) != null) {
            assertThat(frame.content().readableBytes()).isLessThanOrEqualTo(WebSocketByteStreamCodec.MAX_FRAME_PAYLOAD);
            assertThat(frame.isFinalFragment()).isTrue();
            joined.writeBytes(frame.content());
            frame.release();
            frames++;
        }
        assertThat(frames).isEqualTo(3);
        assertThat(ByteBufUtil.getBytes(joined)).isEqualTo(data);
        joined.release();
    }

    @Test
    void outboundBufferIsReleasedAfterFraming() {
        ByteBuf data = Unpooled.copiedBuffer("abc", StandardCharsets.US_ASCII);

        channel.writeOutbound(data);

        BinaryWebSocketFrame frame = channel.readOutbound();
        frame.release();
        assertThat(data.refCnt()).isZero();
    }

    @Test
    void emptyOutboundWriteStillCompletes() {
        var future = channel.writeAndFlush(Unpooled.EMPTY_BUFFER);

        assertThat(future.isSuccess()).isTrue();
    }

    @Test
    void frameSizeAboveTheLimitIsRejected() {
        assertThatThrownBy(() -> new WebSocketByteStreamCodec(WebSocketByteStreamCodec.MAX_FRAME_PAYLOAD + 1))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private String readAllInbound() {
        StringBuilder sb = new StringBuilder();
        ByteBuf buf;
        while ((buf = channel.readInbound()) != null) {
            sb.append(buf.toString(StandardCharsets.US_ASCII));
            buf.release();
        }
        return sb.toString();
    }

    private static ByteBuf bytes(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII);
    }
}
