package io.picotunnel.protocol.yamux;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;

import java.util.List;

import static io.picotunnel.protocol.yamux.YamuxSpec.HEADER_LENGTH;
import static io.picotunnel.protocol.yamux.YamuxSpec.TYPE_DATA;
import static io.picotunnel.protocol.yamux.YamuxSpec.TYPE_GO_AWAY;
import static io.picotunnel.protocol.yamux.YamuxSpec.VERSION;

/**
 * Bytes to {@link YamuxFrame}s. A Data frame longer than {@code maxDataLength} (the largest receive window we
 * ever grant) is a protocol error raised from its header alone, before any payload is buffered, as are an
 * unknown version or type. After an error every further byte is discarded.
 */
public final class YamuxFrameDecoder extends ByteToMessageDecoder {

    private final int maxDataLength;
    private boolean failed;

    public YamuxFrameDecoder(int maxDataLength) {
        if (maxDataLength < 0) {
            throw new IllegalArgumentException("maxDataLength must not be negative");
        }
        this.maxDataLength = maxDataLength;
        // Reads (and the WebSocket decoder's payload pieces) end anywhere in a frame: a composite joins the rest of
        // a frame to the next bytes without copying either, where merging would copy every byte read after it.
        setCumulator(COMPOSITE_CUMULATOR);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        while (in.readableBytes() >= HEADER_LENGTH) {
            int start = in.readerIndex();
            int version = in.getUnsignedByte(start);
            int type = in.getUnsignedByte(start + 1);
            int flags = in.getUnsignedShort(start + 2);
            int streamId = in.getInt(start + 4);
            long length = in.getUnsignedInt(start + 8);
            if (version != VERSION) {
                throw fail(in, "unsupported yamux version " + version);
            }
            if (type > TYPE_GO_AWAY) {
                throw fail(in, "unknown yamux frame type " + type);
            }
            if (type == TYPE_DATA && length > maxDataLength) {
                throw fail(in, "Data frame of " + length + " bytes on stream " + Integer.toUnsignedLong(streamId)
                        + " exceeds the largest window " + maxDataLength);
            }
            if (type == TYPE_DATA) {
                if (in.readableBytes() < HEADER_LENGTH + length) {
                    return;
                }
                in.skipBytes(HEADER_LENGTH);
                out.add(new YamuxFrame(type, flags, streamId, length, in.readRetainedSlice((int) length)));
            } else {
                in.skipBytes(HEADER_LENGTH);
                out.add(new YamuxFrame(type, flags, streamId, length, null));
            }
        }
    }

    private YamuxProtocolException fail(ByteBuf in, String message) {
        failed = true;
        in.skipBytes(in.readableBytes());
        return new YamuxProtocolException(message);
    }
}
