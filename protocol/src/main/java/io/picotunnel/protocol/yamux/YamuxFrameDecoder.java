package io.picotunnel.protocol.yamux;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
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
 * unknown version or type. While a Data frame's payload is still to come, its header is checked against the
 * {@link DataLimits} (the stream's receive window, as hashicorp's {@code readData} does), and the payload of a
 * frame for a stream the session no longer knows is skipped as it arrives rather than buffered. After an error
 * every further byte is discarded.
 */
public final class YamuxFrameDecoder extends ByteToMessageDecoder {

    /** What a Data frame may carry, asked from its header while its payload is still to come. */
    @FunctionalInterface
    public interface DataLimits {

        /** The answer for a frame whose payload is to be skipped: the session would drop the frame anyway. */
        long DISCARD = -1;

        /** The most payload a Data frame with this header may carry now, or {@link #DISCARD}. */
        long dataLimit(int streamId, int flags);
    }

    /**
     * Pieces below this size are copied together as they arrive (see {@link #mergeSmallTail}); larger ones are
     * kept as they are, without copying.
     */
    static final int MERGE_BELOW = 4096;

    /**
     * Reads (and the WebSocket decoder's payload pieces) end anywhere in a frame: a composite joins the rest of a
     * frame to the next bytes without copying either, where merging would copy every byte read after it. Small
     * pieces are merged, or a frame sent one byte per WebSocket message would hold one component per byte.
     */
    private static final Cumulator CUMULATOR = (alloc, cumulation, in) -> {
        ByteBuf result = COMPOSITE_CUMULATOR.cumulate(alloc, cumulation, in);
        if (result != in && result instanceof CompositeByteBuf composite) {
            mergeSmallTail(composite);
        }
        return result;
    };

    private final int maxDataLength;
    private final DataLimits limits;
    private boolean failed;
    /** The header of the incomplete Data frame at the reader index passed its check. */
    private boolean headerChecked;
    /** Payload bytes still to skip of a frame whose stream the session no longer knows. */
    private long discarding;

    /** Checks Data frames against {@code maxDataLength} only: for tests and fuzzing of the framing alone. */
    public YamuxFrameDecoder(int maxDataLength) {
        this(maxDataLength, (streamId, flags) -> maxDataLength);
    }

    public YamuxFrameDecoder(int maxDataLength, DataLimits limits) {
        if (maxDataLength < 0) {
            throw new IllegalArgumentException("maxDataLength must not be negative");
        }
        this.maxDataLength = maxDataLength;
        this.limits = limits;
        setCumulator(CUMULATOR);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        if (discarding > 0) {
            int skip = (int) Math.min(discarding, in.readableBytes());
            in.skipBytes(skip);
            discarding -= skip;
            if (discarding > 0) {
                return;
            }
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
                    if (!headerChecked) {
                        if (!out.isEmpty()) {
                            // The frames before it first: they may use up the stream's window or end the stream.
                            return;
                        }
                        checkIncompleteData(in, streamId, flags, length);
                    }
                    return;
                }
                headerChecked = false;
                in.skipBytes(HEADER_LENGTH);
                out.add(new YamuxFrame(type, flags, streamId, length, in.readRetainedSlice((int) length)));
            } else {
                in.skipBytes(HEADER_LENGTH);
                out.add(new YamuxFrame(type, flags, streamId, length, null));
            }
        }
    }

    private void checkIncompleteData(ByteBuf in, int streamId, int flags, long length) {
        long limit = limits.dataLimit(streamId, flags);
        if (limit == DataLimits.DISCARD) {
            in.skipBytes(HEADER_LENGTH);
            int skip = (int) Math.min(length, in.readableBytes());
            in.skipBytes(skip);
            discarding = length - skip;
            return;
        }
        if (length > limit) {
            throw fail(in, "Data frame of " + length + " bytes on stream " + Integer.toUnsignedLong(streamId)
                    + " exceeds its receive window of " + limit);
        }
        headerChecked = true;
    }

    /**
     * Merges the composite's last components while they are small and the one before is no larger than the last,
     * as a binary counter carries: a run of small pieces stays at most about log2({@link #MERGE_BELOW})
     * components, and each byte of it is copied about as many times at most.
     */
    static void mergeSmallTail(CompositeByteBuf composite) {
        int n = composite.numComponents();
        while (n >= 2) {
            int lastStart = composite.toByteIndex(n - 1);
            int lastSize = composite.capacity() - lastStart;
            int previousSize = lastStart - composite.toByteIndex(n - 2);
            if (lastSize >= MERGE_BELOW || previousSize >= MERGE_BELOW || previousSize > lastSize) {
                return;
            }
            composite.consolidate(n - 2, 2);
            n--;
        }
    }

    /** Bytes held for a frame still incomplete: what a peer can make us keep. */
    int heldBytes() {
        return internalBuffer().readableBytes();
    }

    /** The pieces those bytes are held in. */
    int heldPieces() {
        ByteBuf held = internalBuffer();
        return held instanceof CompositeByteBuf composite ? composite.numComponents() : held.isReadable() ? 1 : 0;
    }

    private YamuxProtocolException fail(ByteBuf in, String message) {
        failed = true;
        in.skipBytes(in.readableBytes());
        return new YamuxProtocolException(message);
    }
}
