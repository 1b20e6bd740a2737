package io.picotunnel.protocol.ws;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.buffer.UnpooledHeapByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.EncoderException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.picotunnel.protocol.buffer.RecordingAllocator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Our client frame encoder against Netty's decoder, which checks masking, lengths and opcodes as a server does. */
class MaskingWebSocketFrameEncoderTest {

    /** How the payload of a frame is held when it is written. */
    enum Payload {
        HEAP(bytes -> Unpooled.wrappedBuffer(bytes)),
        DIRECT(bytes -> Unpooled.directBuffer(bytes.length).writeBytes(bytes)),
        COMPOSITE(bytes -> Unpooled.compositeBuffer()
                .addComponent(true, Unpooled.directBuffer().writeBytes(bytes, 0, bytes.length / 3))
                .addComponent(true, Unpooled.wrappedBuffer(bytes, bytes.length / 3, bytes.length - bytes.length / 3))),
        SLICE(bytes -> Unpooled.wrappedBuffer(new byte[3], bytes, new byte[5]).retainedSlice(3, bytes.length)),
        /** Components of 1, 2, 3, ... bytes: the mask's phase changes at each (the payload is masked as it is copied). */
        MANY_COMPONENTS(bytes -> {
            CompositeByteBuf composite = Unpooled.compositeBuffer(Integer.MAX_VALUE);
            for (int at = 0, size = 1; at < bytes.length; at += size, size++) {
                composite.addComponent(true, Unpooled.directBuffer().writeBytes(bytes, at, Math.min(size, bytes.length - at)));
            }
            return composite;
        }),
        LITTLE_ENDIAN(bytes -> Unpooled.wrappedBuffer(ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN)));

        final Function<byte[], ByteBuf> of;

        Payload(Function<byte[], ByteBuf> of) {
            this.of = of;
        }
    }

    private static List<WebSocketFrame> roundTrip(WebSocketFrame... frames) {
        EmbeddedChannel encoder = new EmbeddedChannel(new MaskingWebSocketFrameEncoder());
        EmbeddedChannel decoder = new EmbeddedChannel(new WebSocket13FrameDecoder(WebSocketDecoderConfig.newBuilder()
                .expectMaskedFrames(true).allowExtensions(true).maxFramePayloadLength(1 << 20)
                .closeOnProtocolViolation(false).build()));
        for (WebSocketFrame frame : frames) {
            encoder.writeOutbound(frame);
        }
        for (Object wire; (wire = encoder.readOutbound()) != null; ) {
            decoder.writeInbound(wire);
        }
        List<WebSocketFrame> decoded = new ArrayList<>();
        for (Object frame; (frame = decoder.readInbound()) != null; ) {
            decoded.add((WebSocketFrame) frame);
        }
        assertThat(encoder.finishAndReleaseAll()).isFalse();
        decoder.finishAndReleaseAll();
        return decoded;
    }

    @ParameterizedTest
    @EnumSource(Payload.class)
    void everyLengthAndKindOfFrameArrivesAsSentAtAServer(Payload kind) {
        Random random = new Random(kind.ordinal());
        int[] lengths = {0, 1, 3, 7, 8, 9, 125, 126, 127, 4099, 65535, 65536, 70_001};
        List<byte[]> sent = new ArrayList<>();
        List<WebSocketFrame> frames = new ArrayList<>();
        for (int length : lengths) {
            byte[] bytes = new byte[length];
            random.nextBytes(bytes);
            sent.add(bytes);
            frames.add(new BinaryWebSocketFrame(kind.of.apply(bytes)));
        }
        frames.add(new TextWebSocketFrame(false, 0, kind.of.apply("caf\u00e9 ".getBytes(java.nio.charset.StandardCharsets.UTF_8))));
        frames.add(new ContinuationWebSocketFrame(true, 0, kind.of.apply("au lait".getBytes(java.nio.charset.StandardCharsets.UTF_8))));
        frames.add(new BinaryWebSocketFrame(true, 4, kind.of.apply(new byte[] {1, 2, 3})));
        frames.add(new PingWebSocketFrame(kind.of.apply(new byte[125])));
        frames.add(new PongWebSocketFrame(kind.of.apply(new byte[] {9})));
        frames.add(new CloseWebSocketFrame(1000, "bye"));

        List<WebSocketFrame> decoded = roundTrip(frames.toArray(WebSocketFrame[]::new));

        assertThat(decoded).hasSize(lengths.length + 6);
        for (int i = 0; i < lengths.length; i++) {
            assertThat(decoded.get(i)).isInstanceOf(BinaryWebSocketFrame.class);
            assertThat(ByteBufUtil.getBytes(decoded.get(i).content())).as("frame of %d bytes", lengths[i])
                    .isEqualTo(sent.get(i));
        }
        int n = lengths.length;
        assertThat(decoded.get(n)).isInstanceOf(TextWebSocketFrame.class);
        assertThat(decoded.get(n).isFinalFragment()).isFalse();
        assertThat(decoded.get(n + 1)).isInstanceOf(ContinuationWebSocketFrame.class);
        assertThat(((ContinuationWebSocketFrame) decoded.get(n + 1)).text()).isEqualTo("au lait");
        assertThat(decoded.get(n + 2).rsv()).isEqualTo(4);
        assertThat(decoded.get(n + 3)).isInstanceOf(PingWebSocketFrame.class);
        assertThat(decoded.get(n + 3).content().readableBytes()).isEqualTo(125);
        assertThat(decoded.get(n + 4)).isInstanceOf(PongWebSocketFrame.class);
        assertThat(((CloseWebSocketFrame) decoded.get(n + 5)).statusCode()).isEqualTo(1000);
        assertThat(((CloseWebSocketFrame) decoded.get(n + 5)).reasonText()).isEqualTo("bye");
        decoded.forEach(WebSocketFrame::release);
    }

    @Test
    void eachFrameHasAFreshMaskKey() {
        EmbeddedChannel encoder = new EmbeddedChannel(new MaskingWebSocketFrameEncoder());
        List<Integer> keys = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            encoder.writeOutbound(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(new byte[16])));
            ByteBuf wire = encoder.readOutbound();
            assertThat(wire.getByte(1) & 0x80).as("mask bit").isEqualTo(0x80);
            keys.add(wire.getInt(2));
            // zeros XOR the key: the key itself, four times
            assertThat(wire.getInt(6)).isEqualTo(wire.getInt(2));
            assertThat(wire.getInt(18)).isEqualTo(wire.getInt(2));
            wire.release();
        }
        assertThat(keys).doesNotHaveDuplicates();
        encoder.finishAndReleaseAll();
    }

    @Test
    void aControlFrameAbove125BytesIsRefusedAndNothingIsWritten() {
        EmbeddedChannel encoder = new EmbeddedChannel(new MaskingWebSocketFrameEncoder());
        PingWebSocketFrame ping = new PingWebSocketFrame(Unpooled.wrappedBuffer(new byte[126]));
        assertThatThrownBy(() -> encoder.writeOutbound(ping)).isInstanceOf(EncoderException.class)
                .hasCauseInstanceOf(TooLongFrameException.class);
        assertThat(ping.refCnt()).as("released").isZero();
        assertThat(encoder.finishAndReleaseAll()).isFalse();
    }

    /**
     * An Error while the payload is masked in (an OutOfMemoryError, a StackOverflowError; here from the payload) fails
     * the write as an exception does, the frame's buffer released: only a RuntimeException released it.
     */
    @Test
    void anErrorWhileThePayloadIsMaskedInReleasesTheFramesBuffer() {
        RecordingAllocator allocator = new RecordingAllocator();
        EmbeddedChannel encoder = new EmbeddedChannel(new MaskingWebSocketFrameEncoder());
        encoder.config().setAllocator(allocator);
        StackOverflowError error = new StackOverflowError("while masking");
        ByteBuf payload = new UnpooledHeapByteBuf(UnpooledByteBufAllocator.DEFAULT, 16, 16) {
            @Override
            public int nioBufferCount() {
                throw error;
            }
        }.writeZero(16);

        assertThatThrownBy(() -> encoder.writeOutbound(new BinaryWebSocketFrame(payload)))
                .isInstanceOf(EncoderException.class).hasCause(error);

        assertThat(allocator.allocated).as("the frame's buffer").singleElement()
                .satisfies(buf -> assertThat(buf.refCnt()).as("released").isZero());
        assertThat(payload.refCnt()).as("released").isZero();
        assertThat(encoder.finishAndReleaseAll()).isFalse();
    }
}
