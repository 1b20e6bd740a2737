package io.picotunnel.server.e2e;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.util.ReferenceCountUtil;
import io.picotunnel.server.tunnel.TunnelRegistry;

import java.nio.channels.ClosedChannelException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Sends nothing of what the server writes to a client's connection: a close fails it, as the unsent rest of a
 * socket's. A stream opened on that client meanwhile has its SYN still queued when the connection is lost.
 */
public final class UnsentWrites extends ChannelOutboundHandlerAdapter {

    private final List<Object> messages = new ArrayList<>();
    private final List<ChannelPromise> promises = new ArrayList<>();

    /** From now on the server sends nothing to {@code client}; closing its connection fails what it wrote. */
    public static void holdWritesTo(TunnelRegistry.Connection client) throws Exception {
        Channel channel = client.session().parent();
        channel.eventLoop().submit(() -> channel.pipeline().addFirst(new UnsentWrites())).get(10, TimeUnit.SECONDS);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        messages.add(msg);
        promises.add(promise);
    }

    @Override
    public void flush(ChannelHandlerContext ctx) {
    }

    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
        messages.forEach(ReferenceCountUtil::release);
        messages.clear();
        List<ChannelPromise> unsent = List.copyOf(promises);
        promises.clear();
        unsent.forEach(p -> p.tryFailure(new ClosedChannelException()));
        ctx.close(promise);
    }
}
