package io.picotunnel.protocol.ws;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.buffer.UnpooledHeapByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.picotunnel.protocol.buffer.CopyFailingBuffer;
import io.picotunnel.protocol.buffer.Leaks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class StreamingWebSocketFrameDecoderTest {

    private static final int MAX_PAYLOAD = 1024 * 1024;

    private static WebSocketDecoderConfig config(boolean expectMasked) {
        return WebSocketDecoderConfig.newBuilder().maxFramePayloadLength(MAX_PAYLOAD).expectMaskedFrames(expectMasked)
                .allowExtensions(false).closeOnProtocolViolation(false).build();
    }

    /** The wire bytes of {@code frames} as a client ({@code masked}) or a server writes them. */
    private static byte[] wire(boolean masked, WebSocketFrame... frames) {
        EmbeddedChannel encoder = new EmbeddedChannel(new WebSocket13FrameEncoder(masked));
        for (WebSocketFrame frame : frames) {
            encoder.writeOutbound(frame);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object o; (o = encoder.readOutbound()) != null; ) {
            ByteBuf buf = (ByteBuf) o;
            byte[] bytes = new byte[buf.readableBytes()];
            buf.readBytes(bytes);
            out.writeBytes(bytes);
            buf.release();
        }
        encoder.finishAndReleaseAll();
        return out.toByteArray();
    }

    /** Feeds {@code bytes} in pieces of the given sizes (cycled) and returns what the decoder passed on. */
    private static List<WebSocketFrame> decode(EmbeddedChannel channel, byte[] bytes, int... pieceSizes) {
        return decode(channel, bytes, Piece.HEAP, pieceSizes);
    }

    /** How a piece arrives: on the heap, in direct memory (as socket reads give it), or as a composite of two. */
    enum Piece {
        HEAP, DIRECT, COMPOSITE;

        ByteBuf of(byte[] bytes, int offset, int length) {
            return switch (this) {
                case HEAP -> Unpooled.buffer(length).writeBytes(bytes, offset, length);
                case DIRECT -> Unpooled.directBuffer(length).writeBytes(bytes, offset, length);
                case COMPOSITE -> Unpooled.compositeBuffer()
                        .addComponent(true, Unpooled.directBuffer(length / 2).writeBytes(bytes, offset, length / 2))
                        .addComponent(true, Unpooled.buffer(length - length / 2)
                                .writeBytes(bytes, offset + length / 2, length - length / 2));
            };
        }
    }

    private static List<WebSocketFrame> decode(EmbeddedChannel channel, byte[] bytes, Piece kind, int... pieceSizes) {
        int offset = 0;
        for (int i = 0; offset < bytes.length; i++) {
            int length = Math.min(pieceSizes[i % pieceSizes.length], bytes.length - offset);
            // Through a writable copy, as a socket read gives them: masked payloads are unmasked in place.
            channel.writeInbound(kind.of(bytes, offset, length));
            offset += length;
        }
        List<WebSocketFrame> frames = new ArrayList<>();
        for (Object o; (o = channel.readInbound()) != null; ) {
            frames.add((WebSocketFrame) o);
        }
        return frames;
    }

    private static byte[] random(Random random, int length) {
        byte[] bytes = new byte[length];
        random.nextBytes(bytes);
        return bytes;
    }

    private static byte[] dataBytes(List<WebSocketFrame> frames) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (WebSocketFrame frame : frames) {
            if (frame instanceof BinaryWebSocketFrame || frame instanceof ContinuationWebSocketFrame) {
                byte[] bytes = new byte[frame.content().readableBytes()];
                frame.content().getBytes(frame.content().readerIndex(), bytes);
                out.writeBytes(bytes);
            }
        }
        return out.toByteArray();
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 7, 13, 100, 4096, 70_000})
    void maskedFramesCutAnywhereGiveTheSameBytesAsNettysDecoder(int pieceSize) {
        Random random = new Random(pieceSize);
        List<WebSocketFrame> sent = new ArrayList<>();
        for (int length : new int[] {0, 1, 5, 125, 126, 127, 1000, 65535, 65536, 70_001}) {
            sent.add(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(random(random, length))));
        }
        sent.add(new BinaryWebSocketFrame(false, 0, Unpooled.wrappedBuffer(random(random, 300))));
        sent.add(new PingWebSocketFrame(Unpooled.wrappedBuffer(random(random, 50))));
        sent.add(new ContinuationWebSocketFrame(true, 0, Unpooled.wrappedBuffer(random(random, 9000))));
        byte[] bytes = wire(true, sent.toArray(WebSocketFrame[]::new));

        EmbeddedChannel netty = new EmbeddedChannel(new WebSocket13FrameDecoder(config(true)));
        List<WebSocketFrame> expected = decode(netty, bytes, bytes.length);
        EmbeddedChannel ours = new EmbeddedChannel(new StreamingWebSocketFrameDecoder(config(true)));
        List<WebSocketFrame> actual = decode(ours, bytes, pieceSize, pieceSize * 3 + 1);

        assertThat(dataBytes(actual)).isEqualTo(dataBytes(expected));
        List<WebSocketFrame> pings = actual.stream().filter(f -> f instanceof PingWebSocketFrame).toList();
        assertThat(pings).hasSize(1);
        assertThat(pings.get(0).content()).isEqualTo(expected.stream()
                .filter(f -> f instanceof PingWebSocketFrame).findFirst().orElseThrow().content());
        assertThat(actual.stream().filter(WebSocketFrame::isFinalFragment).count()).as("frames ending a message")
                .isEqualTo(expected.stream().filter(WebSocketFrame::isFinalFragment).count());
        expected.forEach(WebSocketFrame::release);
        actual.forEach(WebSocketFrame::release);
        assertThat(ours.finishAndReleaseAll()).isFalse();
        netty.finishAndReleaseAll();
    }

    @ParameterizedTest
    @EnumSource(Piece.class)
    void maskedFramesInEveryKindOfBufferAreUnmaskedAlike(Piece kind) {
        Random random = new Random(kind.ordinal());
        List<WebSocketFrame> sent = new ArrayList<>();
        for (int length : new int[] {1, 7, 8, 9, 125, 126, 4099, 65536}) {
            sent.add(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(random(random, length))));
        }
        byte[] bytes = wire(true, sent.toArray(WebSocketFrame[]::new));

        EmbeddedChannel netty = new EmbeddedChannel(new WebSocket13FrameDecoder(config(true)));
        List<WebSocketFrame> expected = decode(netty, bytes, bytes.length);
        EmbeddedChannel ours = new EmbeddedChannel(new StreamingWebSocketFrameDecoder(config(true)));
        List<WebSocketFrame> actual = decode(ours, bytes, kind, 5, 1000, 17, 9000);

        assertThat(dataBytes(actual)).isEqualTo(dataBytes(expected));
        expected.forEach(WebSocketFrame::release);
        actual.forEach(WebSocketFrame::release);
        assertThat(ours.finishAndReleaseAll()).isFalse();
        netty.finishAndReleaseAll();
    }

    @Test
    void payloadGoesOnAsItArrivesNotWhenTheFrameIsWhole() {
        byte[] payload = random(new Random(1), 10_000);
        byte[] bytes = wire(false, new BinaryWebSocketFrame(Unpooled.wrappedBuffer(payload)));
        EmbeddedChannel channel = new EmbeddedChannel(new StreamingWebSocketFrameDecoder(config(false)));

        List<WebSocketFrame> first = decode(channel, java.util.Arrays.copyOf(bytes, 4 + 6000), 4 + 6000);
        assertThat(first).hasSize(1);
        assertThat(first.get(0)).isInstanceOf(BinaryWebSocketFrame.class);
        assertThat(first.get(0).isFinalFragment()).isFalse();
        assertThat(first.get(0).content().readableBytes()).isEqualTo(6000);
        List<WebSocketFrame> rest = decode(channel, java.util.Arrays.copyOfRange(bytes, 4 + 6000, bytes.length), 100_000);
        assertThat(rest).hasSize(1);
        assertThat(rest.get(0)).isInstanceOf(ContinuationWebSocketFrame.class);
        assertThat(rest.get(0).isFinalFragment()).isTrue();
        List<WebSocketFrame> all = new ArrayList<>(first);
        all.addAll(rest);
        assertThat(dataBytes(all)).isEqualTo(payload);
        all.forEach(WebSocketFrame::release);
    }

    @Test
    void controlFramesPassWholeAndTextFramesKeepTheirType() {
        byte[] bytes = wire(true, new PingWebSocketFrame(Unpooled.wrappedBuffer(new byte[] {1, 2, 3})),
                new PongWebSocketFrame(Unpooled.wrappedBuffer(new byte[] {4})),
                new TextWebSocketFrame("hello"), new CloseWebSocketFrame(WebSocketCloseStatus.NORMAL_CLOSURE));
        EmbeddedChannel channel = new EmbeddedChannel(new StreamingWebSocketFrameDecoder(config(true)));
        // One byte at a time: the control frames still come whole, the text frame in five pieces.
        List<WebSocketFrame> frames = decode(channel, bytes, 1);
        assertThat(frames).hasSize(8);
        assertThat(frames.get(0)).isInstanceOf(PingWebSocketFrame.class);
        assertThat(frames.get(0).content()).isEqualTo(Unpooled.wrappedBuffer(new byte[] {1, 2, 3}));
        assertThat(frames.get(1)).isInstanceOf(PongWebSocketFrame.class);
        assertThat(frames.get(2)).isInstanceOf(TextWebSocketFrame.class);
        assertThat(frames.subList(3, 7)).allMatch(f -> f instanceof ContinuationWebSocketFrame);
        assertThat(frames.subList(2, 7)).extracting(f -> f.content().toString(java.nio.charset.StandardCharsets.UTF_8))
                .containsExactly("h", "e", "l", "l", "o");
        assertThat(frames.get(6).isFinalFragment()).isTrue();
        assertThat(((CloseWebSocketFrame) frames.get(7)).statusCode()).isEqualTo(1000);
        frames.forEach(WebSocketFrame::release);
    }

    @Test
    void frameOverTheLimitIsRefusedFromItsHeaderWithStatus1009() {
        EmbeddedChannel channel = new EmbeddedChannel(new StreamingWebSocketFrameDecoder(config(true)));
        // Header only: 127, then 8 bytes of length, then the mask; no payload needs to arrive.
        ByteBuf header = Unpooled.buffer().writeByte(0x82).writeByte(0x80 | 127).writeLong(MAX_PAYLOAD + 1L).writeInt(7);
        CorruptedWebSocketFrameException error = violation(channel, header);
        assertThat(error.closeStatus()).isEqualTo(WebSocketCloseStatus.MESSAGE_TOO_BIG);
    }

    @Test
    void protocolViolationsAreRaisedWithStatus1002AndLaterBytesDropped() {
        assertProtocolError(config(true), Unpooled.buffer().writeByte(0x82).writeByte(3).writeBytes(new byte[3]),
                "not masked");
        assertProtocolError(config(false), Unpooled.buffer().writeByte(0x82).writeByte(0x80 | 1).writeInt(1).writeByte(1),
                "not masked");
        assertProtocolError(config(false), Unpooled.buffer().writeByte(0xC2).writeByte(0), "RSV");
        assertProtocolError(config(false), Unpooled.buffer().writeByte(0x09).writeByte(0), "fragmented control");
        assertProtocolError(config(false), Unpooled.buffer().writeByte(0x89).writeByte(126).writeShort(200),
                "payload length > 125");
        assertProtocolError(config(false), Unpooled.buffer().writeByte(0x80).writeByte(0), "continuation");
        assertProtocolError(config(false), Unpooled.buffer().writeByte(0x02).writeByte(0).writeByte(0x82).writeByte(0),
                "non-continuation");
        assertProtocolError(config(false), Unpooled.buffer().writeByte(0x82).writeByte(126).writeShort(10),
                "minimal length");
        assertProtocolError(config(false), Unpooled.buffer().writeByte(0x83).writeByte(0), "reserved opcode");
        assertProtocolError(config(false), Unpooled.buffer().writeByte(0x88).writeByte(2).writeShort(999),
                "status code");
    }

    private static void assertProtocolError(WebSocketDecoderConfig config, ByteBuf bytes, String reason) {
        EmbeddedChannel channel = new EmbeddedChannel(new StreamingWebSocketFrameDecoder(config));
        CorruptedWebSocketFrameException error = violation(channel, bytes);
        assertThat(error.closeStatus()).isEqualTo(WebSocketCloseStatus.PROTOCOL_ERROR);
        assertThat(error.getMessage()).contains(reason);
        // Everything after a violation is discarded, a valid frame included.
        channel.writeInbound(Unpooled.buffer().writeByte(0x82).writeByte(0x80 | 1).writeInt(0).writeByte(1));
        channel.writeInbound(Unpooled.buffer().writeByte(0x82).writeByte(1).writeByte(1));
        assertThat(channel.finishAndReleaseAll()).as("frames after the violation").isFalse();
    }

    private static CorruptedWebSocketFrameException violation(EmbeddedChannel channel, ByteBuf bytes) {
        try {
            channel.writeInbound(bytes);
            channel.checkException();
        } catch (CorruptedWebSocketFrameException e) {
            for (Object o; (o = channel.readInbound()) != null; ) {
                ((WebSocketFrame) o).release();
            }
            return e;
        }
        throw new AssertionError("no protocol violation raised");
    }

    /**
     * An Error while a masked payload is copied out of a read-only buffer (an OutOfMemoryError, a StackOverflowError;
     * here from that buffer) fails the read with the copy released: it leaked, as the encoders' buffers did.
     */
    @Test
    void anErrorWhileAMaskedPayloadIsCopiedOutOfAReadOnlyBufferReleasesTheCopy() {
        EmbeddedChannel channel = new EmbeddedChannel(new StreamingWebSocketFrameDecoder(config(true)));
        UnpooledByteBufAllocator allocator = Leaks.countingAllocator();
        channel.config().setAllocator(allocator);
        byte[] bytes = wire(true, new BinaryWebSocketFrame(Unpooled.wrappedBuffer(new byte[16])));
        StackOverflowError error = new StackOverflowError("while copying");
        ByteBuf in = CopyFailingBuffer.of(bytes.length, error).setBytes(0, bytes).asReadOnly();

        assertThatThrownBy(() -> channel.writeInbound(in)).isSameAs(error);

        Leaks.assertAllReleased(allocator, "the payload's copy");
        assertThat(in.refCnt()).as("released").isZero();
        assertThat(channel.finishAndReleaseAll()).isFalse();
    }

    /**
     * An Error while a masked payload is unmasked in place, in a slice of the read buffer (an OutOfMemoryError, a
     * StackOverflowError; here from that buffer), fails the read with the slice released: it kept the read buffer.
     */
    @Test
    void anErrorWhileAMaskedPayloadIsUnmaskedInPlaceReleasesItsSlice() {
        EmbeddedChannel channel = new EmbeddedChannel(new StreamingWebSocketFrameDecoder(config(true)));
        byte[] bytes = wire(true, new BinaryWebSocketFrame(Unpooled.wrappedBuffer(new byte[16])));
        StackOverflowError error = new StackOverflowError("while unmasking");
        ByteBuf in = new UnpooledHeapByteBuf(UnpooledByteBufAllocator.DEFAULT, bytes.length, bytes.length) {
            @Override
            public int nioBufferCount() {
                throw error;
            }
        }.writeBytes(bytes);

        assertThatThrownBy(() -> channel.writeInbound(in)).isSameAs(error);

        assertThat(in.refCnt()).as("the read buffer released, the payload's slice of it too").isZero();
        assertThat(channel.finishAndReleaseAll()).isFalse();
    }
}
