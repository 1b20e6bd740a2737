package io.picotunnel.bench.traffic;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;

import java.io.IOException;
import java.util.concurrent.CompletableFuture;

/** Sends one small message at a time to an echo and completes when all of it has come back. */
public final class Pinger extends ChannelInboundHandlerAdapter {

    private final ByteBuf message;
    private ChannelHandlerContext ctx;
    private CompletableFuture<Void> pending;
    private int received;

    /** @param message the bytes of every round trip (shared, never modified) */
    public Pinger(ByteBuf message) {
        this.message = message;
    }

    /** Starts one round trip, from any thread; at most one may be outstanding. */
    public CompletableFuture<Void> roundTrip() {
        CompletableFuture<Void> done = new CompletableFuture<>();
        ctx.executor().execute(() -> {
            pending = done;
            received = 0;
            ctx.writeAndFlush(message.retainedDuplicate());
        });
        return done;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        received += msg instanceof ByteBuf buf ? buf.readableBytes() : 0;
        ReferenceCountUtil.release(msg);
        if (pending != null && received >= message.readableBytes()) {
            CompletableFuture<Void> done = pending;
            pending = null;
            done.complete(null);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (pending != null) {
            pending.completeExceptionally(new IOException("the connection closed during a round trip"));
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }
}
