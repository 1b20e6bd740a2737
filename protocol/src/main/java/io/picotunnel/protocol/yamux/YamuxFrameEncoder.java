package io.picotunnel.protocol.yamux;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToByteEncoder;

import static io.picotunnel.protocol.yamux.YamuxSpec.HEADER_LENGTH;
import static io.picotunnel.protocol.yamux.YamuxSpec.VERSION;

/** {@link YamuxFrame} to bytes: the 12-byte big-endian header, then the Data payload. */
@ChannelHandler.Sharable
public final class YamuxFrameEncoder extends MessageToByteEncoder<YamuxFrame> {

    public static final YamuxFrameEncoder INSTANCE = new YamuxFrameEncoder();

    private YamuxFrameEncoder() {
        super(YamuxFrame.class);
    }

    @Override
    protected ByteBuf allocateBuffer(ChannelHandlerContext ctx, YamuxFrame frame, boolean preferDirect) {
        int size = HEADER_LENGTH + frame.payload().readableBytes();
        return preferDirect ? ctx.alloc().ioBuffer(size) : ctx.alloc().heapBuffer(size);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, YamuxFrame frame, ByteBuf out) {
        writeHeader(frame, out);
        out.writeBytes(frame.payload(), frame.payload().readerIndex(), frame.payload().readableBytes());
    }

    static void writeHeader(YamuxFrame frame, ByteBuf out) {
        out.writeByte(VERSION);
        out.writeByte(frame.type());
        out.writeShort(frame.flags());
        out.writeInt(frame.streamId());
        out.writeInt((int) frame.length());
    }
}
