package io.picotunnel.protocol.yamux;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.ReferenceCounted;

import static io.picotunnel.protocol.yamux.YamuxSpec.MAX_LENGTH_FIELD;
import static io.picotunnel.protocol.yamux.YamuxSpec.SESSION_STREAM_ID;
import static io.picotunnel.protocol.yamux.YamuxSpec.TYPE_DATA;
import static io.picotunnel.protocol.yamux.YamuxSpec.TYPE_GO_AWAY;
import static io.picotunnel.protocol.yamux.YamuxSpec.TYPE_PING;
import static io.picotunnel.protocol.yamux.YamuxSpec.TYPE_WINDOW_UPDATE;

/**
 * One yamux frame: the 12-byte header and, for Data frames, the payload (owned by the frame: release it).
 *
 * @param type     one of {@code YamuxSpec.TYPE_*}
 * @param flags    bits of {@code YamuxSpec.FLAG_*}
 * @param streamId unsigned 32 bits as an int
 * @param length   the unsigned 32-bit length field: payload length, window delta, ping opaque or GoAway code
 * @param payload  the Data payload ({@code length} readable bytes); empty for other types
 */
public record YamuxFrame(int type, int flags, int streamId, long length, ByteBuf payload) implements ReferenceCounted {

    public YamuxFrame {
        if (type < TYPE_DATA || type > TYPE_GO_AWAY) {
            throw new IllegalArgumentException("unknown frame type " + type);
        }
        if (flags < 0 || flags > 0xFFFF) {
            throw new IllegalArgumentException("flags out of range: " + flags);
        }
        if (length < 0 || length > MAX_LENGTH_FIELD) {
            throw new IllegalArgumentException("length out of range: " + length);
        }
        if (type == TYPE_DATA) {
            if (payload == null || payload.readableBytes() != length) {
                throw new IllegalArgumentException("Data frame payload must have exactly length bytes");
            }
        } else if (payload == null) {
            payload = Unpooled.EMPTY_BUFFER;
        } else if (payload.isReadable()) {
            throw new IllegalArgumentException(YamuxSpec.typeName(type) + " frames carry no payload");
        }
    }

    public static YamuxFrame data(int flags, int streamId, ByteBuf payload) {
        return new YamuxFrame(TYPE_DATA, flags, streamId, payload.readableBytes(), payload);
    }

    public static YamuxFrame windowUpdate(int flags, int streamId, long delta) {
        return new YamuxFrame(TYPE_WINDOW_UPDATE, flags, streamId, delta, Unpooled.EMPTY_BUFFER);
    }

    public static YamuxFrame ping(int flags, long opaque) {
        return new YamuxFrame(TYPE_PING, flags, SESSION_STREAM_ID, opaque, Unpooled.EMPTY_BUFFER);
    }

    public static YamuxFrame goAway(GoAwayCode code) {
        return new YamuxFrame(TYPE_GO_AWAY, 0, SESSION_STREAM_ID, code.code(), Unpooled.EMPTY_BUFFER);
    }

    public boolean hasFlag(int flag) {
        return YamuxSpec.hasFlag(flags, flag);
    }

    /** The stream id as the unsigned number on the wire. */
    public long unsignedStreamId() {
        return Integer.toUnsignedLong(streamId);
    }

    @Override
    public int refCnt() {
        return payload.refCnt();
    }

    @Override
    public YamuxFrame retain() {
        payload.retain();
        return this;
    }

    @Override
    public YamuxFrame retain(int increment) {
        payload.retain(increment);
        return this;
    }

    @Override
    public YamuxFrame touch() {
        payload.touch();
        return this;
    }

    @Override
    public YamuxFrame touch(Object hint) {
        payload.touch(hint);
        return this;
    }

    @Override
    public boolean release() {
        return payload.release();
    }

    @Override
    public boolean release(int decrement) {
        return payload.release(decrement);
    }

    @Override
    public String toString() {
        return YamuxSpec.typeName(type) + "[flags=" + YamuxSpec.flagNames(flags) + ", stream=" + unsignedStreamId()
                + ", length=" + length + ']';
    }
}
