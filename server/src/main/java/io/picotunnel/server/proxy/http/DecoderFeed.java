package io.picotunnel.server.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.ByteProcessor;

import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * In front of the HTTP/1.1 decoder: hands it a connection's bytes at most {@value #SLICE} bytes at a time, and
 * only while the proxy wants more messages. The decoder turns whatever it is given into messages at once, so one
 * socket read of small pipelined requests (64 KiB: over a thousand) would otherwise be decoded whole: past the
 * codec's pipeline depth, which fails the connection, and at many times the read's size in memory.
 *
 * <p>Outside a request body a slice also ends where a request head ends (an empty line), so the proxy, asked
 * before each slice, can stop the decoder right behind a head: the bytes after an upgrade request are not HTTP
 * once the target switches, and were taken for the next request before. Within a body a slice ends where the body
 * does (its announced length, or the empty line that ends a chunked body's trailers), so that what follows a body
 * is looked at as a head: the start of a request sent after it.
 *
 * <p>Bytes held here stop the socket's reading, so a paused connection keeps at most what its last reads
 * brought, raw, also once the visitor has ended its output: the connection reads only when asked
 * ({@code HalfClosedEpollChannels.keepRegisteredReadingOnlyWhenAsked}), where Netty's epoll would otherwise read
 * the socket to its end at the visitor's FIN. The proxy calls {@link #resume} once it wants messages again.
 * Removed from the pipeline (a protocol switch), it hands on what it holds, in order, after what the decoder had.
 */
final class DecoderFeed extends ChannelInboundHandlerAdapter {

    /** Bytes handed to the decoder at once: at most {@value} / 16 requests (the shortest is 16 bytes). */
    static final int SLICE = 8 * 1024;
    /** The codec's pipeline depth that a slice cannot exceed, with the proxy's waiting messages on top. */
    static final int PIPELINE_DEPTH = 1024;

    private final BooleanSupplier wantsMore;
    private final BooleanSupplier inBody;
    private final LongSupplier bodyBytesLeft;
    private final HeadEnd headEnd = new HeadEnd();
    /**
     * The decoder was last given part of a request head, without the empty line that ends it. Empty lines alone are
     * none: the decoder skips them before a request line (RFC 9112 2.2), and clients send a CRLF after a POST body.
     */
    private boolean partialHead;
    private ChannelHandlerContext ctx;
    private ByteBuf held;
    private boolean feeding;
    /** Something went to the decoder since the last read-complete passed on. */
    private boolean fedSinceReadComplete;

    /**
     * {@code wantsMore}: whether the decoder may be given more bytes; {@code inBody}: whether the decoder is within a
     * request's body, where an empty line ends no head; {@code bodyBytesLeft}: what is left of that body when its
     * length was announced, else -1 (chunked).
     */
    DecoderFeed(BooleanSupplier wantsMore, BooleanSupplier inBody, LongSupplier bodyBytesLeft) {
        this.wantsMore = wantsMore;
        this.inBody = inBody;
        this.bodyBytesLeft = bodyBytesLeft;
    }

    boolean holdsBytes() {
        return held != null;
    }

    /**
     * Whether the decoder holds the beginning of a request head whose end has not come yet: more than empty lines
     * came after the last request.
     */
    boolean decoderHasPartialHead() {
        return partialHead;
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
                int length = Math.min(held.readableBytes(), SLICE);
                boolean body = inBody.getAsBoolean();
                long bodyLeft = body ? bodyBytesLeft.getAsLong() : -1;
                if (bodyLeft > 0) {
                    headEnd.reset();
                    partialHead = false;
                    length = (int) Math.min(length, bodyLeft);
                } else {
                    int end = held.forEachByte(held.readerIndex(), length, headEnd);
                    partialHead = !body && end < 0 && headEnd.begun();
                    if (end >= 0) {
                        headEnd.reset();
                        length = end + 1 - held.readerIndex();
                    }
                }
                ByteBuf next;
                if (held.readableBytes() <= length) {
                    next = held;
                    held = null;
                } else {
                    next = held.readRetainedSlice(length);
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

    /** Finds the empty line that ends a head, {@code CRLF CRLF}; a bare {@code LF LF} ends a slice too, harmlessly. */
    private static final class HeadEnd implements ByteProcessor {

        /** 0: within a line; 1: right after a line feed; 2: after a line feed and a carriage return. */
        private int state;
        /**
         * A byte other than CR and LF came: a request line begun. The decoder makes a request of any such byte, a
         * bad one of other controls or of a line of spaces (Netty 4.2.18); only spaces right before a request line
         * are skipped.
         */
        private boolean begun;

        @Override
        public boolean process(byte value) {
            if (value == '\n') {
                if (state != 0) {
                    return false;
                }
                state = 1;
            } else {
                state = value == '\r' && state != 0 ? 2 : 0;
                begun |= value != '\r';
            }
            return true;
        }

        boolean begun() {
            return begun;
        }

        void reset() {
            state = 0;
            begun = false;
        }
    }
}
