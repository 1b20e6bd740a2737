package io.picotunnel.bench.traffic;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;

/**
 * Writes a number of bytes to its channel as fast as the channel takes them: chunks of a shared buffer while
 * the channel is writable, the rest when it becomes writable again (never an unbounded queue).
 */
public final class Pump extends ChannelInboundHandlerAdapter {

    private final ByteBuf chunk;
    private ChannelHandlerContext ctx;
    private long remaining;

    /** @param chunk the bytes of every write (shared, never modified: each write is a retained slice) */
    public Pump(ByteBuf chunk) {
        this.chunk = chunk;
    }

    /** Sends {@code bytes} more, from any thread. */
    public void send(long bytes) {
        ctx.executor().execute(() -> {
            remaining += bytes;
            writeWhileWritable();
        });
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        writeWhileWritable();
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ReferenceCountUtil.release(msg);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }

    private void writeWhileWritable() {
        boolean wrote = false;
        while (remaining > 0 && ctx.channel().isWritable()) {
            int n = (int) Math.min(remaining, chunk.readableBytes());
            ctx.write(chunk.retainedSlice(chunk.readerIndex(), n));
            remaining -= n;
            wrote = true;
        }
        if (wrote) {
            ctx.flush();
        }
    }
}
