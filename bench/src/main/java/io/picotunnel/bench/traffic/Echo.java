package io.picotunnel.bench.traffic;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;

/** Writes back what it reads (the benchmarks' messages are small, so no backpressure is needed). */
@ChannelHandler.Sharable
public final class Echo extends Responder {

    public static final Echo INSTANCE = new Echo();

    private Echo() {
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ctx.write(msg);
    }
}
