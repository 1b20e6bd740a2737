package io.picotunnel.server.tunnel;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;

/** Resets every stream a tunnel client opens: only the server opens streams. */
@ChannelHandler.Sharable
final class RefuseInboundStreams extends ChannelInboundHandlerAdapter {

    static final RefuseInboundStreams INSTANCE = new RefuseInboundStreams();

    private RefuseInboundStreams() {
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        ((YamuxStreamChannel) ctx.channel()).reset();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ReferenceCountUtil.release(msg);
    }
}
