package io.picotunnel.server.proxy.http;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandler;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * The last handler of a pooled upstream stream, for the stream's whole life: it passes the stream's events to whoever
 * has the stream now, the exchange using it or the pool's idle watcher. Handing the stream over is two field writes
 * and the handlers' added and removed callbacks, where replacing a handler in the pipeline twice per request (park,
 * take) was 3% of the server's Java samples under wrk. On the stream's event loop only.
 */
final class UpstreamSlot extends ChannelInboundHandlerAdapter {

    private ChannelHandlerContext ctx;
    private ChannelInboundHandler current;

    UpstreamSlot(ChannelInboundHandler first) {
        this.current = first;
    }

    /** The slot of {@code channel}, or null when it has none (any more). */
    static UpstreamSlot of(Channel channel) {
        return channel.pipeline().get(UpstreamSlot.class);
    }

    /** Gives the stream to {@code next}: the current holder is told it was removed, {@code next} that it was added. */
    void handTo(ChannelInboundHandler next) throws Exception {
        ChannelInboundHandler previous = current;
        current = next;
        if (ctx != null) {
            previous.handlerRemoved(ctx);
            next.handlerAdded(ctx);
        }
    }

    /** Whoever has the stream now. */
    ChannelInboundHandler current() {
        return current;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
        this.ctx = ctx;
        current.handlerAdded(ctx);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) throws Exception {
        current.handlerRemoved(ctx);
    }

    @Override
    public void channelRegistered(ChannelHandlerContext ctx) throws Exception {
        current.channelRegistered(ctx);
    }

    @Override
    public void channelUnregistered(ChannelHandlerContext ctx) throws Exception {
        current.channelUnregistered(ctx);
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        current.channelActive(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        current.channelInactive(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        current.channelRead(ctx, msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
        current.channelReadComplete(ctx);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        current.userEventTriggered(ctx, evt);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        current.channelWritabilityChanged(ctx);
    }

    @Override
    @SuppressWarnings("deprecation")
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) throws Exception {
        current.exceptionCaught(ctx, cause);
    }
}
