package io.picotunnel.protocol.stream;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToByteEncoder;

/** Writes a {@link StreamHeader} message as its wire encoding. */
@ChannelHandler.Sharable
public final class StreamHeaderEncoder extends MessageToByteEncoder<StreamHeader> {

    public static final StreamHeaderEncoder INSTANCE = new StreamHeaderEncoder();

    private StreamHeaderEncoder() {
        super(StreamHeader.class);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, StreamHeader header, ByteBuf out) {
        header.encode(out);
    }
}
