package io.picotunnel.protocol.yamux;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageEncoder;

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
        ByteBuf payload = frame.payload();
        int length = payload.readableBytes();
        if (length <= COPY_THRESHOLD) {
            ByteBuf buf = ctx.alloc().ioBuffer(HEADER_LENGTH + length);
            try {
                writeHeader(frame, buf);
                buf.writeBytes(payload, payload.readerIndex(), length);
            } catch (RuntimeException | Error e) {
                buf.release();
                throw e;
            }
            out.add(buf);
            return;
        }
        ByteBuf header = ctx.alloc().ioBuffer(HEADER_LENGTH);
        CompositeByteBuf composite = null;
        ByteBuf retained;
        try {
            writeHeader(frame, header);
            composite = ctx.alloc().compositeBuffer(2);
            // The frame is released after encode; the composite keeps its own reference to the payload.
            retained = payload.retain();
        } catch (RuntimeException | Error e) {
            header.release();
            if (composite != null) {
                composite.release();
            }
            throw e;
        }
        try {
            composite.addComponents(true, header, retained);
        } catch (RuntimeException | Error e) {
            // addComponents released the buffers it did not take; the composite releases those it did
            composite.release();
            throw e;
        }
        out.add(composite);
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
