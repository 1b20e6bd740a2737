package io.picotunnel.protocol.ws;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.EncoderException;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.util.ReferenceCountUtil;
import io.picotunnel.protocol.buffer.CopyFailingBuffer;
import io.picotunnel.protocol.buffer.RecordingAllocator;
import io.picotunnel.protocol.yamux.GoAwayCode;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxFrame;
import io.picotunnel.protocol.yamux.YamuxFrameEncoder;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.protocol.yamux.YamuxSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The tunnel's yamux-to-WebSocket encoder against the chain it replaces (yamux frame encoder, byte stream codec,
 * WebSocket frame encoder): the same frames on the wire, with fewer copies and buffers.
 */
class YamuxWebSocketFrameEncoderTest {

    /**
     * Payload lengths around every boundary: the 7-bit, 16-bit and 64-bit WebSocket lengths (125 and 65535 bytes with
     * the 12-byte header), the copy threshold, Netty's merging of payloads up to 1 KiB, the largest Data frame we send.
     */
    private static final int[] LENGTHS = {0, 1, 113, 114, 1000, 1012, 1013, 1024, 1025, 16384, 65523, 65524, 65536};

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 113, 114, 1000, 1012, 1013, 1024, 1025, 16384, 65523, 65524, 65536})
    void anUnmaskedDataFrameLeavesAsTheSameBytesAsThroughTheChainItReplaces(int payloadLength) {
        byte[] payload = randomBytes(payloadLength);

        byte[] before = wire(chainItReplaces(false), YamuxFrame.data(0, 7, Unpooled.wrappedBuffer(payload)));
        byte[] after = wire(encoder(false), YamuxFrame.data(0, 7, Unpooled.wrappedBuffer(payload)));

        assertThat(after).isEqualTo(before);
    }

    @Test
    void framesWithoutPayloadLeaveAsTheSameBytesAsThroughTheChainItReplaces() {
        List<YamuxFrame> frames = List.of(
                YamuxFrame.windowUpdate(YamuxSpec.FLAG_SYN, 3, 262144),
                YamuxFrame.ping(YamuxSpec.FLAG_ACK, 0xFFFF_FFFFL),
                YamuxFrame.goAway(GoAwayCode.PROTOCOL_ERROR),
                YamuxFrame.data(YamuxSpec.FLAG_FIN | YamuxSpec.FLAG_RST, -1, Unpooled.EMPTY_BUFFER));
        for (YamuxFrame frame : frames) {
            assertThat(wire(encoder(false), frame)).as(frame.toString()).isEqualTo(wire(chainItReplaces(false), frame));
        }
    }

    /** Masked with a random key, so compared as Netty's server-side decoder reads them, and by the unmasked bytes. */
    @Test
    void aMaskedDataFrameLeavesAsTheSameFrameAsThroughTheChainItReplaces() {
        for (int payloadLength : LENGTHS) {
            byte[] payload = randomBytes(payloadLength);

            byte[] before = wire(chainItReplaces(true), YamuxFrame.data(0, 7, Unpooled.wrappedBuffer(payload)));
            byte[] after = wire(encoder(true), YamuxFrame.data(0, 7, Unpooled.wrappedBuffer(payload)));

            assertThat(after).as("%d bytes", payloadLength).hasSameSizeAs(before);
            int keyAt = after.length - YamuxSpec.HEADER_LENGTH - payloadLength - 4;
            assertThat(Arrays.copyOf(after, keyAt)).as("the frame's header, %d bytes", payloadLength)
                    .isEqualTo(Arrays.copyOf(before, keyAt));
            assertThat(unmasked(after)).as("%d bytes", payloadLength).isEqualTo(unmasked(before))
                    .isEqualTo(yamuxBytes(7, payload));
        }
    }

    @ParameterizedTest
    @EnumSource(MaskingWebSocketFrameEncoderTest.Payload.class)
    void aMaskedPayloadHeldInAnyFormIsMaskedFromTheKeysFirstByteBehindTheHeader(
            MaskingWebSocketFrameEncoderTest.Payload form) {
        for (int payloadLength : new int[] {1, 7, 1000, 16387}) {
            byte[] payload = randomBytes(payloadLength);

            byte[] wire = wire(encoder(true), YamuxFrame.data(0, 9, form.of.apply(payload)));

            assertThat(unmasked(wire)).as("%d bytes", payloadLength).isEqualTo(yamuxBytes(9, payload));
        }
    }

    /**
     * Each of 64 frames masked with a key no other has (two random keys of 32 bits alike: one run in some two million
     * fails), its bytes unmasked with its own key the yamux frame sent: a key reused, or one on the wire that is not
     * the one the bytes were masked with, fails.
     */
    @Test
    void everyMaskedFrameHasAKeyOfItsOwn() {
        EmbeddedChannel out = encoder(true);
        Set<Integer> keys = new HashSet<>();
        for (int i = 0; i < 64; i++) {
            byte[] payload = randomBytes(i + 1);
            byte[] wire = wire(out, YamuxFrame.data(0, 5, Unpooled.wrappedBuffer(payload)));
            assertThat(wire[1] & 0x7F).as("a 7-bit length").isEqualTo(YamuxSpec.HEADER_LENGTH + payload.length);
            byte[] key = Arrays.copyOfRange(wire, 2, 6);
            keys.add(Unpooled.wrappedBuffer(key).getInt(0));
            byte[] unmasked = Arrays.copyOfRange(wire, 6, wire.length);
            for (int j = 0; j < unmasked.length; j++) {
                unmasked[j] ^= key[j % 4];
            }
            assertThat(unmasked).as("frame %d unmasked with its own key", i).isEqualTo(yamuxBytes(5, payload));
        }
        assertThat(keys).as("a key of its own for each of 64 frames").hasSize(64);
        assertThat(out.finishAndReleaseAll()).isFalse();
    }

    @Test
    void aSmallPayloadIsCopiedBehindTheHeadersIntoOneBufferAndReleased() {
        ByteBuf payload = Unpooled.directBuffer().writeBytes(randomBytes(YamuxWebSocketFrameEncoder.COPY_THRESHOLD));
        EmbeddedChannel out = encoder(false);

        assertThat(out.writeOutbound(YamuxFrame.data(0, 1, payload))).isTrue();

        assertThat(payload.refCnt()).isZero();
        ByteBuf wire = out.readOutbound();
        assertThat(wire.readableBytes()).isEqualTo(4 + YamuxSpec.HEADER_LENGTH + YamuxWebSocketFrameEncoder.COPY_THRESHOLD);
        wire.release();
        assertThat(out.finishAndReleaseAll()).isFalse();
    }

    /** No copy and no composite: the headers of both protocols in one buffer, then the payload itself. */
    @Test
    void aLargerUnmaskedPayloadFollowsItsHeadersAsItIsAndIsReleasedWithItsWrite() {
        ByteBuf payload = Unpooled.directBuffer().writeBytes(randomBytes(YamuxWebSocketFrameEncoder.COPY_THRESHOLD + 1));
        EmbeddedChannel out = encoder(false);

        ChannelFuture written = out.writeAndFlush(YamuxFrame.data(0, 1, payload));

        assertThat(written.isSuccess()).isTrue();
        ByteBuf headers = out.readOutbound();
        assertThat(headers.readableBytes()).isEqualTo(4 + YamuxSpec.HEADER_LENGTH);
        headers.release();
        ByteBuf next = out.readOutbound();
        assertThat(next).isSameAs(payload);
        assertThat(payload.refCnt()).isOne();
        next.release();
        assertThat(out.finishAndReleaseAll()).isFalse();
    }

    /** Headers out without their payload would make the peer read the next frame as this one's payload. */
    @Test
    void headersRefusedBelowFailTheFramesWriteAndReleaseItsPayloadUnwritten() {
        ByteBuf payload = Unpooled.directBuffer().writeBytes(randomBytes(YamuxWebSocketFrameEncoder.COPY_THRESHOLD + 1));
        EmbeddedChannel out = new EmbeddedChannel(new BelowTheEncoder(ignored -> {
            throw new IllegalStateException("headers refused");
        }), YamuxWebSocketFrameEncoder.unmasked());

        ChannelFuture written = out.writeAndFlush(YamuxFrame.data(0, 1, payload));

        assertThat(written.cause()).hasMessage("headers refused");
        assertThat(payload.refCnt()).isZero();
        assertThat(out.outboundMessages()).isEmpty();
        assertThat(out.finishAndReleaseAll()).isFalse();
    }

    /**
     * An Error while the headers of a larger unmasked payload are written (an OutOfMemoryError, a StackOverflowError;
     * here from their buffer) fails the frame's write with the headers' buffer and the payload released: both leaked.
     */
    @Test
    void anErrorWhileTheHeadersAreWrittenReleasesThemAndThePayload() {
        StackOverflowError error = new StackOverflowError("while writing the headers");
        RecordingAllocator allocator = RecordingAllocator.failingOnWriteByte(error);
        EmbeddedChannel out = encoder(false);
        out.config().setAllocator(allocator);
        ByteBuf payload = Unpooled.directBuffer().writeBytes(randomBytes(YamuxWebSocketFrameEncoder.COPY_THRESHOLD + 1));

        ChannelFuture written = out.writeAndFlush(YamuxFrame.data(0, 1, payload));

        assertThat(written.cause()).isSameAs(error);
        assertThat(allocator.allocated).as("the headers' buffer").singleElement()
                .satisfies(buf -> assertThat(buf.refCnt()).as("released").isZero());
        assertThat(payload.refCnt()).as("released").isZero();
        assertThat(out.finishAndReleaseAll()).isFalse();
    }

    /**
     * An Error while a whole frame is copied into its one buffer (a small payload, or any on the client, which masks
     * as it copies; here from the payload) fails the frame's write with that buffer and the payload released.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void anErrorWhileAWholeFrameIsCopiedReleasesItsBufferAndThePayload(boolean masked) {
        StackOverflowError error = new StackOverflowError("while copying the frame");
        RecordingAllocator allocator = new RecordingAllocator();
        EmbeddedChannel out = encoder(masked);
        out.config().setAllocator(allocator);
        ByteBuf payload = CopyFailingBuffer.withoutViews(16, error);

        ChannelFuture written = out.writeAndFlush(YamuxFrame.data(0, 1, payload));

        assertThat(written.cause()).isSameAs(error);
        assertThat(allocator.allocated).as("the frame's buffer").singleElement()
                .satisfies(buf -> assertThat(buf.refCnt()).as("released").isZero());
        assertThat(payload.refCnt()).as("released").isZero();
        assertThat(out.finishAndReleaseAll()).isFalse();
    }

    /** As another thread may cancel it: once the headers are out, the payload must follow them. */
    @Test
    void aWriteCancelledWhileItsHeadersAreWrittenStillWritesItsPayload() {
        ByteBuf payload = Unpooled.directBuffer().writeBytes(randomBytes(YamuxWebSocketFrameEncoder.COPY_THRESHOLD + 1));
        ChannelPromise[] promise = new ChannelPromise[1];
        EmbeddedChannel out = new EmbeddedChannel(new BelowTheEncoder(ignored -> promise[0].cancel(false)),
                YamuxWebSocketFrameEncoder.unmasked());
        promise[0] = out.newPromise();

        out.writeAndFlush(YamuxFrame.data(0, 1, payload), promise[0]);

        assertThat(promise[0].isSuccess()).isTrue();
        ByteBuf headers = out.readOutbound();
        headers.release();
        ByteBuf next = out.readOutbound();
        assertThat(next).isSameAs(payload);
        next.release();
        assertThat(out.finishAndReleaseAll()).isFalse();
    }

    @Test
    void aFrameLargerThanOneWebSocketFrameFailsItsWriteAndIsReleased() {
        ByteBuf payload = Unpooled.buffer().writeZero(WebSocketByteStreamCodec.MAX_FRAME_PAYLOAD);
        EmbeddedChannel out = encoder(true);

        ChannelFuture written = out.writeAndFlush(YamuxFrame.data(0, 1, payload));

        assertThat(written.cause()).isInstanceOf(EncoderException.class).hasMessageContaining("does not fit");
        assertThat(payload.refCnt()).isZero();
        assertThat(out.finishAndReleaseAll()).isFalse();
    }

    @Test
    void otherWritesPassOnToTheCodecAndFrameEncoderBelow() {
        EmbeddedChannel out = new EmbeddedChannel(YamuxWebSocketFrameEncoder.masked());
        PingWebSocketFrame ping = new PingWebSocketFrame(Unpooled.copiedBuffer("p", StandardCharsets.US_ASCII));
        ByteBuf bytes = Unpooled.copiedBuffer("b", StandardCharsets.US_ASCII);

        out.writeOutbound(ping, bytes);

        Object first = out.readOutbound();
        Object second = out.readOutbound();
        assertThat(first).isSameAs(ping);
        assertThat(second).isSameAs(bytes);
        assertThat(out.finishAndReleaseAll()).isFalse();
        ping.release();
        bytes.release();
    }

    @Test
    void aSessionAboveItAddsNoYamuxFrameEncoderAndWritesThroughIt() {
        YamuxSession session = new YamuxSession(YamuxRole.SERVER, YamuxConfig.defaults(), null);
        EmbeddedChannel out = new EmbeddedChannel(new WebSocket13FrameEncoder(false),
                YamuxWebSocketFrameEncoder.unmasked(), new WebSocketByteStreamCodec(), session);

        readWire(out); // the session's start-up ping
        session.goAway(GoAwayCode.NORMAL);
        out.flushOutbound();

        assertThat(out.pipeline().get(YamuxFrameEncoder.class)).isNull();
        assertThat(readWire(out)).isEqualTo(wire(chainItReplaces(false), YamuxFrame.goAway(GoAwayCode.NORMAL)));
        out.finishAndReleaseAll();
    }

    @Test
    void aSessionWithoutItAddsItsOwnYamuxFrameEncoder() {
        EmbeddedChannel out = new EmbeddedChannel(new YamuxSession(YamuxRole.SERVER, YamuxConfig.defaults(), null));

        assertThat(out.pipeline().get(YamuxFrameEncoder.class)).isNotNull();
        out.finishAndReleaseAll();
    }

    /** As the tunnel's pipeline has it after the handshake, on the server ({@code masked} false) or the client. */
    private static EmbeddedChannel encoder(boolean masked) {
        return new EmbeddedChannel(frameEncoder(masked),
                masked ? YamuxWebSocketFrameEncoder.masked() : YamuxWebSocketFrameEncoder.unmasked(),
                new WebSocketByteStreamCodec());
    }

    private static EmbeddedChannel chainItReplaces(boolean masked) {
        return new EmbeddedChannel(frameEncoder(masked), new WebSocketByteStreamCodec(), YamuxFrameEncoder.INSTANCE);
    }

    private static ChannelHandler frameEncoder(boolean masked) {
        return masked ? new MaskingWebSocketFrameEncoder() : new WebSocket13FrameEncoder(false);
    }

    /** The bytes {@code out} writes for {@code frame}, every piece released. */
    private static byte[] wire(EmbeddedChannel out, YamuxFrame frame) {
        int held = frame.refCnt();
        assertThat(out.writeOutbound(frame.retain())).isTrue();
        byte[] bytes = readWire(out);
        assertThat(frame.refCnt()).as("the frame's payload, its wire bytes released").isEqualTo(held);
        frame.release();
        return bytes;
    }

    /** Everything {@code out} wrote, every piece released. */
    private static byte[] readWire(EmbeddedChannel out) {
        ByteBuf wire = Unpooled.buffer();
        for (ByteBuf piece; (piece = out.readOutbound()) != null; ) {
            wire.writeBytes(piece);
            piece.release();
        }
        byte[] bytes = ByteBufUtil.getBytes(wire);
        wire.release();
        return bytes;
    }

    /** The payload of the one masked binary frame in {@code wire}, as Netty's server-side decoder reads it. */
    private static byte[] unmasked(byte[] wire) {
        EmbeddedChannel in = new EmbeddedChannel(new WebSocket13FrameDecoder(WebSocketDecoderConfig.newBuilder()
                .expectMaskedFrames(true).maxFramePayloadLength(1 << 20).build()));
        in.writeInbound(Unpooled.wrappedBuffer(wire));
        List<BinaryWebSocketFrame> frames = new ArrayList<>();
        for (BinaryWebSocketFrame frame; (frame = in.readInbound()) != null; ) {
            frames.add(frame);
        }
        assertThat(frames).as("one frame").hasSize(1);
        byte[] payload = ByteBufUtil.getBytes(frames.get(0).content());
        frames.get(0).release();
        assertThat(in.finishAndReleaseAll()).isFalse();
        return payload;
    }

    private static byte[] yamuxBytes(int streamId, byte[] payload) {
        ByteBuf expected = Unpooled.buffer().writeBytes(new byte[] {0, 0, 0, 0}).writeInt(streamId)
                .writeInt(payload.length).writeBytes(payload);
        byte[] bytes = ByteBufUtil.getBytes(expected);
        expected.release();
        return bytes;
    }

    /** Runs {@code onFirstWrite} as the first write passes it, then lets every write pass on. */
    private static final class BelowTheEncoder extends ChannelOutboundHandlerAdapter {
        private final Consumer<Object> onFirstWrite;
        private boolean first = true;

        BelowTheEncoder(Consumer<Object> onFirstWrite) {
            this.onFirstWrite = onFirstWrite;
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            if (first) {
                first = false;
                try {
                    onFirstWrite.accept(msg);
                } catch (RuntimeException e) {
                    ReferenceCountUtil.release(msg);
                    promise.setFailure(e);
                    return;
                }
            }
            ctx.write(msg, promise);
        }
    }

    private static byte[] randomBytes(int length) {
        byte[] bytes = new byte[length];
        new Random(length).nextBytes(bytes);
        return bytes;
    }
}
