package io.picotunnel.protocol.interop;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;

/** Echoes what a stream reads; half-closes after the peer's FIN. Honours writability (reads pause while not writable). */
@ChannelHandler.Sharable
final class EchoStreamHandler extends ChannelInboundHandlerAdapter {

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ctx.write(msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        ctx.flush();
        ctx.channel().config().setAutoRead(ctx.channel().isWritable());
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        ctx.channel().config().setAutoRead(ctx.channel().isWritable());
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == ChannelInputShutdownEvent.INSTANCE) {
            ctx.flush();
            ((YamuxStreamChannel) ctx.channel()).shutdownOutput();
        }
        ctx.fireUserEventTriggered(evt);
    }
}
