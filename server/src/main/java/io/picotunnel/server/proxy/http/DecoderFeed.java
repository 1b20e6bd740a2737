package io.picotunnel.server.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.ByteToMessageDecoder;

import java.util.function.BooleanSupplier;

/**
 * In front of the HTTP/1.1 decoder: hands it a connection's bytes at most {@value #SLICE} bytes at a time, and
 * only while the proxy wants more messages. The decoder turns whatever it is given into messages at once, so one
 * socket read of small pipelined requests (64 KiB: over a thousand) would otherwise be decoded whole: past the
 * codec's pipeline depth, which fails the connection, and at many times the read's size in memory.
 *
 * <p>Bytes held here stop the socket's reading, so a paused connection keeps at most what its last reads
 * brought, raw. The proxy calls {@link #resume} once it wants messages again. Removed from the pipeline (a
 * protocol switch), it hands on what it holds, in order, after what the decoder had.
 */
final class DecoderFeed extends ChannelInboundHandlerAdapter {

    /** Bytes handed to the decoder at once: at most {@value} / 16 requests (the shortest is 16 bytes). */
    static final int SLICE = 8 * 1024;
    /** The codec's pipeline depth that a slice cannot exceed, with the proxy's waiting messages on top. */
    static final int PIPELINE_DEPTH = 1024;

    private final BooleanSupplier wantsMore;
    private ChannelHandlerContext ctx;
    private ByteBuf held;
    private boolean feeding;
    /** Something went to the decoder since the last read-complete passed on. */
    private boolean fedSinceReadComplete;

    DecoderFeed(BooleanSupplier wantsMore) {
        this.wantsMore = wantsMore;
    }

    boolean holdsBytes() {
        return held != null;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf bytes)) {
            ctx.fireChannelRead(msg);
            return;
        }
        held = held == null ? bytes : ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(ctx.alloc(), held, bytes);
        feed();
    }

    /**
     * Passes a read's end on only when the read fed the decoder: the decoder asks for another socket read when a
     * read-complete comes without a message, which would read on while bytes wait here.
     */
    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (fedSinceReadComplete || held == null) {
            fedSinceReadComplete = false;
            ctx.fireChannelReadComplete();
        }
    }

    /** Feeds held bytes to the decoder for as long as the proxy wants more; a no-op when called from within. */
    void resume() {
        if (held == null || feeding) {
            return;
        }
        feed();
        if (fedSinceReadComplete && !ctx.isRemoved()) {
            fedSinceReadComplete = false;
            ctx.fireChannelReadComplete();
        }
    }

    private void feed() {
        if (feeding) {
            return;
        }
        feeding = true;
        try {
            while (held != null && !ctx.isRemoved() && wantsMore.getAsBoolean()) {
                ByteBuf next;
                if (held.readableBytes() <= SLICE) {
                    next = held;
                    held = null;
                } else {
                    next = held.readRetainedSlice(SLICE);
                }
                fedSinceReadComplete = true;
                ctx.fireChannelRead(next);
            }
        } finally {
            feeding = false;
        }
        if (held != null && !ctx.isRemoved()) {
            ctx.channel().config().setAutoRead(false);
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        ByteBuf rest = held;
        held = null;
        if (rest != null) {
            if (ctx.channel().isActive()) {
                ctx.fireChannelRead(rest);
                ctx.fireChannelReadComplete();
            } else {
                rest.release();
            }
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (held != null) {
            held.release();
            held = null;
        }
        ctx.fireChannelInactive();
    }
}
