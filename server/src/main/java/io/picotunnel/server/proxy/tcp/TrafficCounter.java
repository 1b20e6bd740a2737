package io.picotunnel.server.proxy.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;

/** Counts the bytes read from and written to a public connection (of a tcp service, or passed through TLS). */
public final class TrafficCounter extends ChannelDuplexHandler {

    private final TcpTraffic traffic;

    public TrafficCounter(TcpTraffic traffic) {
        this.traffic = traffic;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf buf) {
            traffic.received(buf.readableBytes());
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof ByteBuf buf) {
            traffic.sent(buf.readableBytes());
        }
        ctx.write(msg, promise);
    }
}
