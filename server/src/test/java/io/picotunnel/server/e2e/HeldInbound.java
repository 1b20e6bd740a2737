package io.picotunnel.server.e2e;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.picotunnel.server.tunnel.TunnelRegistry;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Keeps what the server reads of a client's connection, in order, and hands it on when released: the server reads it
 * late (a client's refusal of a stream, its GoAway), after whatever the test did meanwhile.
 */
final class HeldInbound extends ChannelInboundHandlerAdapter {

    private final List<Object> held = new ArrayList<>();
    private final AtomicInteger count = new AtomicInteger();
    private ChannelHandlerContext ctx;
    private boolean holding = true;

    /** From now on the server reads nothing of {@code client}'s connection until {@link #release}. */
    static HeldInbound holdWhatComesFrom(TunnelRegistry.Connection client) throws Exception {
        Channel channel = client.session().parent();
        HeldInbound held = new HeldInbound();
        channel.eventLoop().submit(() -> channel.pipeline().addFirst(held)).get(10, TimeUnit.SECONDS);
        return held;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!holding) {
            ctx.fireChannelRead(msg);
            return;
        }
        held.add(msg);
        count.incrementAndGet();
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (!holding) {
            ctx.fireChannelReadComplete();
        }
    }

    /** Reads held so far. */
    int count() {
        return count.get();
    }

    /** On the connection's loop: hands on what was held, now, and holds nothing more. */
    void releaseNow() {
        holding = false;
        held.forEach(ctx::fireChannelRead);
        held.clear();
        ctx.fireChannelReadComplete();
    }

    void release() {
        ctx.executor().execute(this::releaseNow);
    }
}
