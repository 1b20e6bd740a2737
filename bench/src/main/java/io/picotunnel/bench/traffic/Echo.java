package io.picotunnel.bench.traffic;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/** Writes back what it reads (the benchmarks' messages are small, so no backpressure is needed). */
@ChannelHandler.Sharable
public final class Echo extends ChannelInboundHandlerAdapter {

    public static final Echo INSTANCE = new Echo();

    private Echo() {
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ctx.write(msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        ctx.flush();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }
}
