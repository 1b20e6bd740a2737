package io.picotunnel.protocol.ws;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.picotunnel.protocol.yamux.YamuxFrame;
import io.picotunnel.protocol.yamux.YamuxFrameEncoder;
import io.picotunnel.protocol.yamux.YamuxSpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

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
    void aWriteThatFitsOneFrameIsThatFramesPayloadItselfAndIsReleasedWithIt() {
        ByteBuf data = Unpooled.directBuffer(100).writeBytes(new byte[100]);

        channel.writeOutbound(data);

        BinaryWebSocketFrame frame = channel.readOutbound();
        assertThat(frame.content()).as("no slice per frame").isSameAs(data);
        assertThat(data.refCnt()).isOne();
        frame.release();
        assertThat(data.refCnt()).isZero();
    }

    @ParameterizedTest
    @CsvSource({"8, 8", "9, 8|1", "16, 8|8", "17, 8|8|1"})
    void aWriteOfTheLimitIsOneFrameAndOneByteMoreIsCut(int written, String frameSizes) {
        EmbeddedChannel small = new EmbeddedChannel(new WebSocketByteStreamCodec(8));
        byte[] data = new byte[written];
        new Random(written).nextBytes(data);

        small.writeOutbound(Unpooled.wrappedBuffer(data));

        StringBuilder sizes = new StringBuilder();
        ByteBuf joined = Unpooled.buffer();
        for (BinaryWebSocketFrame frame; (frame = small.readOutbound()) != null; ) {
            sizes.append(sizes.isEmpty() ? "" : "|").append(frame.content().readableBytes());
            joined.writeBytes(frame.content());
            frame.release();
        }
        assertThat(sizes.toString()).isEqualTo(frameSizes);
        assertThat(ByteBufUtil.getBytes(joined)).isEqualTo(data);
        joined.release();
        assertThat(small.finishAndReleaseAll()).isFalse();
    }

    /**
     * A yamux Data frame through the tunnel's outbound handlers as the server has them (Netty's unmasked encoder, which
     * copies payloads up to 1 KiB next to its header and writes larger ones as they are) and the client (masking):
     * one binary frame holding the yamux frame as it is, every buffer released once the wire bytes are.
     */
    @ParameterizedTest
    @CsvSource({"false, 0", "false, 100", "false, 1000", "false, 16384", "false, 65536",
            "true, 0", "true, 100", "true, 1000", "true, 16384", "true, 65536"})
    void aYamuxFrameLeavesAsOneBinaryFrameWithNothingLeftHeld(boolean masked, int payloadLength) {
        byte[] bytes = new byte[payloadLength];
        new Random(payloadLength).nextBytes(bytes);
        ByteBuf payload = Unpooled.directBuffer(payloadLength).writeBytes(bytes);
        ChannelHandler frameEncoder = masked ? new MaskingWebSocketFrameEncoder() : new WebSocket13FrameEncoder(false);
        EmbeddedChannel out = new EmbeddedChannel(frameEncoder, new WebSocketByteStreamCodec(),
                YamuxFrameEncoder.INSTANCE);
        EmbeddedChannel in = new EmbeddedChannel(new WebSocket13FrameDecoder(WebSocketDecoderConfig.newBuilder()
                .expectMaskedFrames(masked).maxFramePayloadLength(1 << 20).build()));

        out.writeOutbound(YamuxFrame.data(0, 7, payload));
        ByteBuf wire = Unpooled.buffer();
        for (ByteBuf piece; (piece = out.readOutbound()) != null; ) {
            wire.writeBytes(piece);
            piece.release();
        }
        assertThat(payload.refCnt()).as("the payload, once its wire bytes are released").isZero();
        in.writeInbound(wire);

        BinaryWebSocketFrame frame = in.readInbound();
        ByteBuf expected = Unpooled.buffer().writeBytes(new byte[] {0, 0, 0, 0, 0, 0, 0, 7})
                .writeInt(payloadLength).writeBytes(bytes);
        assertThat(ByteBufUtil.getBytes(frame.content())).isEqualTo(ByteBufUtil.getBytes(expected));
        frame.release();
        expected.release();
        Object next = in.readInbound();
        assertThat(next).as("one frame only").isNull();
        assertThat(out.finishAndReleaseAll()).isFalse();
        in.finishAndReleaseAll();
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
