package io.picotunnel.protocol.yamux;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.buffer.UnpooledHeapByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.EncoderException;
import io.picotunnel.protocol.buffer.CopyFailingBuffer;
import io.picotunnel.protocol.buffer.Leaks;
import io.picotunnel.protocol.buffer.RecordingAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_ACK;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_FIN;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_SYN;
import static io.picotunnel.protocol.yamux.YamuxSpec.TYPE_DATA;
import static io.picotunnel.protocol.yamux.YamuxSpec.TYPE_GO_AWAY;
import static io.picotunnel.protocol.yamux.YamuxSpec.TYPE_PING;
import static io.picotunnel.protocol.yamux.YamuxSpec.TYPE_WINDOW_UPDATE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class YamuxFrameCodecTest {

    private final EmbeddedChannel encoder = new EmbeddedChannel(YamuxFrameEncoder.INSTANCE);
    private final EmbeddedChannel decoder = new EmbeddedChannel(new YamuxFrameDecoder(256 * 1024));

    @AfterEach
    void close() {
        encoder.finishAndReleaseAll();
        decoder.finishAndReleaseAll();
    }

    @Test
    void headerIsTwelveBigEndianBytesAsInSpec() {
        encoder.writeOutbound(YamuxFrame.windowUpdate(FLAG_SYN | FLAG_ACK, 0x01020304, 0xA0B0C0D0L));
        ByteBuf out = encoder.readOutbound();
        assertThat(ByteBufUtil.hexDump(out)).isEqualTo("00" + "01" + "0003" + "01020304" + "a0b0c0d0");
        out.release();
    }

    @Test
    void dataFrameCarriesPayloadAfterHeader() {
        encoder.writeOutbound(YamuxFrame.data(FLAG_FIN, 7, Unpooled.copiedBuffer("hi", StandardCharsets.US_ASCII)));
        ByteBuf out = encoder.readOutbound();
        assertThat(ByteBufUtil.hexDump(out)).isEqualTo("00" + "00" + "0004" + "00000007" + "00000002" + "6869");
        out.release();
    }

    @Test
    void largeDataFrameIsOneBufferWithThePayloadUncopied() {
        ByteBuf payload = Unpooled.wrappedBuffer(new byte[16 * 1024]);
        payload.setByte(0, 0x55);
        encoder.writeOutbound(YamuxFrame.data(0, 3, payload));
        ByteBuf out = encoder.readOutbound();
        assertThat(out.readableBytes()).isEqualTo(12 + 16 * 1024);
        assertThat(ByteBufUtil.hexDump(out, 0, 13)).isEqualTo("00" + "00" + "0000" + "00000003" + "00004000" + "55");
        Object more = encoder.readOutbound();
        assertThat(more).isNull();
        out.release();
        assertThat(payload.refCnt()).as("released with the frame and the composite").isZero();
    }

    /**
     * An Error while a small payload is copied next to its header (an OutOfMemoryError, a StackOverflowError; here
     * from the payload) fails the write, the frame's buffer released: as MaskingWebSocketFrameEncoder's, it leaked.
     */
    @Test
    void anErrorWhileASmallPayloadIsCopiedReleasesTheFramesBuffer() {
        StackOverflowError error = new StackOverflowError("while copying");
        ByteBuf payload = CopyFailingBuffer.of(16, error);

        assertWriteFailsWithEverythingReleased(payload, error);
    }

    /**
     * An Error while a large payload is retained for the composite beside its header fails the write, the header's
     * buffer released: it leaked, as the small payload's copy did.
     */
    @Test
    void anErrorWhileALargePayloadIsRetainedReleasesTheHeadersBuffer() {
        StackOverflowError error = new StackOverflowError("while retaining");
        ByteBuf payload = new UnpooledHeapByteBuf(UnpooledByteBufAllocator.DEFAULT, 2048, 2048) {
            @Override
            public ByteBuf retain() {
                throw error;
            }
        }.writeZero(2048);

        assertWriteFailsWithEverythingReleased(payload, error);
    }

    /**
     * An Error while a large payload's header is written into its own buffer (here from that buffer) fails the write,
     * that buffer released before it joins the composite, which is allocated first.
     */
    @Test
    void anErrorWhileALargePayloadsHeaderIsWrittenReleasesIt() {
        StackOverflowError error = new StackOverflowError("while writing the header");
        RecordingAllocator allocator = RecordingAllocator.failingOnWriteByte(error);
        encoder.config().setAllocator(allocator);
        ByteBuf payload = Unpooled.buffer(2048).writeZero(2048);

        assertThatThrownBy(() -> encoder.writeOutbound(YamuxFrame.data(0, 3, payload)))
                .isInstanceOf(EncoderException.class).hasCause(error);

        assertThat(allocator.allocated).as("the header's buffer").singleElement()
                .satisfies(buf -> assertThat(buf.refCnt()).as("released").isZero());
        assertThat(payload.refCnt()).as("released").isZero();
    }

    /**
     * Writes a data frame of {@code payload} through an allocator whose metric counts the bytes it gave out and that
     * are not released yet: the write fails with {@code error} as its cause, nothing left in use, the payload released.
     */
    private void assertWriteFailsWithEverythingReleased(ByteBuf payload, Throwable error) {
        UnpooledByteBufAllocator allocator = Leaks.countingAllocator();
        encoder.config().setAllocator(allocator);

        assertThatThrownBy(() -> encoder.writeOutbound(YamuxFrame.data(0, 3, payload)))
                .isInstanceOf(EncoderException.class).hasCause(error);

        Leaks.assertAllReleased(allocator, "the encoder's buffers");
        assertThat(payload.refCnt()).as("released").isZero();
    }

    @Test
    void everyTypeRoundTrips() {
        YamuxFrame[] frames = {
                YamuxFrame.data(FLAG_SYN, 1, Unpooled.copiedBuffer(new byte[]{1, 2, 3})),
                YamuxFrame.windowUpdate(FLAG_ACK | FLAG_FIN, 2, 1024),
                YamuxFrame.ping(FLAG_SYN, 0xFFFFFFFFL),
                YamuxFrame.goAway(GoAwayCode.PROTOCOL_ERROR),
                YamuxFrame.data(0, 0xFFFFFFFF, Unpooled.EMPTY_BUFFER),
        };
        for (YamuxFrame f : frames) {
            encoder.writeOutbound(f);
        }
        ByteBuf wire;
        while ((wire = encoder.readOutbound()) != null) {
            decoder.writeInbound(wire);
        }
        YamuxFrame data = decoder.readInbound();
        assertThat(data.type()).isEqualTo(TYPE_DATA);
        assertThat(data.flags()).isEqualTo(FLAG_SYN);
        assertThat(data.streamId()).isEqualTo(1);
        assertThat(ByteBufUtil.getBytes(data.payload())).containsExactly(1, 2, 3);
        data.release();
        YamuxFrame update = decoder.readInbound();
        assertThat(update.type()).isEqualTo(TYPE_WINDOW_UPDATE);
        assertThat(update.flags()).isEqualTo(FLAG_ACK | FLAG_FIN);
        assertThat(update.length()).isEqualTo(1024);
        YamuxFrame ping = decoder.readInbound();
        assertThat(ping.type()).isEqualTo(TYPE_PING);
        assertThat(ping.length()).isEqualTo(0xFFFFFFFFL);
        YamuxFrame goAway = decoder.readInbound();
        assertThat(goAway.type()).isEqualTo(TYPE_GO_AWAY);
        assertThat(goAway.length()).isEqualTo(GoAwayCode.PROTOCOL_ERROR.code());
        YamuxFrame empty = decoder.readInbound();
        assertThat(empty.unsignedStreamId()).isEqualTo(0xFFFFFFFFL);
        assertThat(empty.length()).isZero();
        empty.release();
        Object none = decoder.readInbound();
        assertThat(none).isNull();
    }

    @Test
    void frameSplitAcrossReadsIsReassembled() {
        byte[] wire = ByteBufUtil.decodeHexDump("000000000000000500000004" + "61626364");
        for (byte b : wire) {
            decoder.writeInbound(Unpooled.wrappedBuffer(new byte[]{b}));
        }
        YamuxFrame frame = decoder.readInbound();
        assertThat(frame.payload().toString(StandardCharsets.US_ASCII)).isEqualTo("abcd");
        assertThat(frame.streamId()).isEqualTo(5);
        frame.release();
    }

    @Test
    void oneBytePiecesOfAFrameAreHeldInFewPiecesAndArriveIntact() {
        EmbeddedChannel wide = new EmbeddedChannel(new YamuxFrameDecoder(16 * 1024 * 1024));
        YamuxFrameDecoder d = wide.pipeline().get(YamuxFrameDecoder.class);
        int length = 1024 * 1024;
        wide.writeInbound(Unpooled.buffer(12).writeInt(0).writeInt(7).writeInt(length));
        int mostPieces = 0;
        for (int i = 0; i < length; i++) {
            wide.writeInbound(Unpooled.wrappedBuffer(new byte[] {(byte) (i * 31)}));
            if (i < length - 1) {
                mostPieces = Math.max(mostPieces, d.heldPieces());
            }
        }
        // One piece per byte (a million) before: now at most one per 4 KiB merged, plus a short run of small ones.
        assertThat(mostPieces).isLessThanOrEqualTo(length / YamuxFrameDecoder.MERGE_BELOW + 16);
        YamuxFrame frame = wide.readInbound();
        assertThat(frame.length()).isEqualTo(length);
        for (int i = 0; i < length; i++) {
            assertThat(frame.payload().getByte(frame.payload().readerIndex() + i)).isEqualTo((byte) (i * 31));
        }
        frame.release();
        assertThat(wide.finishAndReleaseAll()).isFalse();
    }

    @Test
    void largePiecesOfAFrameAreJoinedWithoutCopying() {
        EmbeddedChannel wide = new EmbeddedChannel(new YamuxFrameDecoder(16 * 1024 * 1024));
        YamuxFrameDecoder d = wide.pipeline().get(YamuxFrameDecoder.class);
        wide.writeInbound(Unpooled.buffer(12).writeInt(0).writeInt(7).writeInt(16 * 65536));
        for (int i = 0; i < 15; i++) {
            wide.writeInbound(Unpooled.wrappedBuffer(new byte[65536]));
        }
        assertThat(d.heldPieces()).as("the header and 15 pieces, none merged").isEqualTo(16);
        wide.writeInbound(Unpooled.wrappedBuffer(new byte[65536]));
        YamuxFrame frame = wide.readInbound();
        assertThat(frame.length()).isEqualTo(16 * 65536);
        frame.release();
        wide.finishAndReleaseAll();
    }

    @Test
    void unknownVersionIsProtocolError() {
        assertThatThrownBy(() -> decoder.writeInbound(hex("010100000000000100000000")))
                .isInstanceOf(DecoderException.class)
                .cause().isInstanceOf(YamuxProtocolException.class).hasMessageContaining("version 1");
    }

    @Test
    void unknownTypeIsProtocolError() {
        assertThatThrownBy(() -> decoder.writeInbound(hex("000400000000000100000000")))
                .cause().isInstanceOf(YamuxProtocolException.class).hasMessageContaining("type 4");
    }

    @Test
    void dataLongerThanMaxWindowIsProtocolErrorFromHeaderAlone() {
        // A header announcing 1 GiB: refused before any payload is buffered.
        assertThatThrownBy(() -> decoder.writeInbound(hex("000000000000000140000000")))
                .cause().isInstanceOf(YamuxProtocolException.class).hasMessageContaining("exceeds");
    }

    @Test
    void windowUpdateMayCarryAnyLength() {
        decoder.writeInbound(hex("0001000000000001ffffffff"));
        YamuxFrame frame = decoder.readInbound();
        assertThat(frame.length()).isEqualTo(0xFFFFFFFFL);
    }

    @Test
    void bytesAfterAnErrorAreDiscarded() {
        assertThatThrownBy(() -> decoder.writeInbound(hex("090000000000000100000000")))
                .cause().isInstanceOf(YamuxProtocolException.class);
        decoder.writeInbound(hex("000200010000000000000007"));
        Object none = decoder.readInbound();
        assertThat(none).isNull();
    }

    @Test
    void framesBeforeAnErrorAreStillDelivered() {
        assertThatThrownBy(() -> decoder.writeInbound(hex("000200010000000000000007" + "090000000000000100000000")))
                .cause().isInstanceOf(YamuxProtocolException.class);
        YamuxFrame ping = decoder.readInbound();
        assertThat(ping.type()).isEqualTo(TYPE_PING);
        assertThat(ping.length()).isEqualTo(7);
    }

    private static ByteBuf hex(String hex) {
        return Unpooled.wrappedBuffer(ByteBufUtil.decodeHexDump(hex));
    }
}
