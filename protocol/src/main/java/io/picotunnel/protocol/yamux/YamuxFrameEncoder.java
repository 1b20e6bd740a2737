package io.picotunnel.protocol.yamux;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageEncoder;
import io.picotunnel.protocol.buffer.NewBuffers;

import java.util.List;

import static io.picotunnel.protocol.yamux.YamuxSpec.HEADER_LENGTH;
import static io.picotunnel.protocol.yamux.YamuxSpec.VERSION;

/**
 * {@link YamuxFrame} to one {@code ByteBuf}: the 12-byte big-endian header, then the Data payload. A large
 * payload is not copied: header and payload become one composite buffer.
 */
@ChannelHandler.Sharable
public final class YamuxFrameEncoder extends MessageToMessageEncoder<YamuxFrame> {

    public static final YamuxFrameEncoder INSTANCE = new YamuxFrameEncoder();

    /** Payloads up to this size are copied next to the header (cheaper than a composite). */
    private static final int COPY_THRESHOLD = 1024;

    private YamuxFrameEncoder() {
        super(YamuxFrame.class);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, YamuxFrame frame, List<Object> out) {
        if (frame.payload().readableBytes() <= COPY_THRESHOLD) {
            out.add(NewBuffers.filled(ctx.alloc().ioBuffer(HEADER_LENGTH + frame.payload().readableBytes()), frame,
                    YamuxFrameEncoder::writeHeaderAndPayload));
        } else {
            out.add(NewBuffers.filled(ctx.alloc().compositeBuffer(2), frame, YamuxFrameEncoder::addHeaderAndPayload));
        }
    }

    private static void writeHeaderAndPayload(ByteBuf out, YamuxFrame frame) {
        writeHeader(frame, out);
        ByteBuf payload = frame.payload();
        out.writeBytes(payload, payload.readerIndex(), payload.readableBytes());
    }

    /**
     * The header in a buffer of its own, then the payload itself. A component that cannot be added is released by
     * {@code addComponent}; those added are released with the composite if a later step throws.
     */
    private static void addHeaderAndPayload(CompositeByteBuf composite, YamuxFrame frame) {
        composite.addComponent(true, NewBuffers.filled(composite.alloc().ioBuffer(HEADER_LENGTH), frame,
                (header, f) -> writeHeader(f, header)));
        // The frame is released after encode; the composite keeps its own reference to the payload.
        composite.addComponent(true, frame.payload().retain());
    }

    /** The frame's 12-byte header, written to {@code out}. */
    public static void writeHeader(YamuxFrame frame, ByteBuf out) {
        out.writeByte(VERSION);
        out.writeByte(frame.type());
        out.writeShort(frame.flags());
        out.writeInt(frame.streamId());
        out.writeInt((int) frame.length());
    }
}
