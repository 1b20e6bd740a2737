package io.picotunnel.protocol.relay;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufHolder;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;

import java.util.ArrayDeque;
import java.util.Queue;
import java.util.function.LongConsumer;

/**
 * Holds what a channel delivers until the {@link Relay} starts: put it in the pipeline where the relay's data
 * must not go yet (a stream still opening, a target still being dialled, a pipeline switching from HTTP to raw
 * bytes), start the relay, then {@link #release()}: the held messages, and the end of input if it came, go on
 * in order to the handlers after it, as if just read, and the hold steps out.
 *
 * <p>Auto-read is turned off when it is added. Message holders (HTTP content) are kept as their bytes. Held
 * messages are released (freed) when the hold is {@linkplain #discard() discarded} or leaves the pipeline
 * without having passed them on (the channel closed). On the channel's event loop, like every handler.
 */
public final class Hold extends ChannelInboundHandlerAdapter {

    public static final String HANDLER_NAME = "hold";

    private final Queue<Object> messages = new ArrayDeque<>();
    private final LongConsumer heldChanged;
    private long heldBytes;
    private ChannelHandlerContext ctx;
    private boolean inputShutdown;
    private boolean released;

    public Hold() {
        this(delta -> { });
    }

    /** @param heldChanged told of every change in the bytes held (e.g. a stream's
     *                    {@link io.picotunnel.protocol.yamux.YamuxStreamChannel#countHeld countHeld}) */
    public Hold(LongConsumer heldChanged) {
        this.heldChanged = heldChanged;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        ctx.channel().config().setAutoRead(false);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (released) {
            ctx.fireChannelRead(msg);
            return;
        }
        Object held = msg instanceof ByteBufHolder holder ? holder.content() : msg;
        messages.add(held);
        if (held instanceof ByteBuf data && data.isReadable()) {
            heldBytes += data.readableBytes();
            heldChanged.accept(data.readableBytes());
        }
    }

    private void letGoOfCount() {
        if (heldBytes > 0) {
            long was = heldBytes;
            heldBytes = 0;
            heldChanged.accept(-was);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (released) {
            ctx.fireChannelReadComplete();
        }
        // Else passed on with the held messages.
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == ChannelInputShutdownEvent.INSTANCE && !released) {
            inputShutdown = true;
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    /** True when the far end's end of input (EOF) arrived while holding. */
    public boolean inputShutdown() {
        return inputShutdown;
    }

    /**
     * Passes what was held on to the handlers after this one and leaves the pipeline. Call on the channel's
     * event loop; after the hold was removed or discarded, it only frees what is left.
     */
    public void release() {
        if (released) {
            return;
        }
        if (ctx == null || ctx.isRemoved()) {
            discard();
            return;
        }
        released = true;
        letGoOfCount();
        boolean any = !messages.isEmpty();
        Object msg;
        while ((msg = messages.poll()) != null) {
            ctx.fireChannelRead(msg);
        }
        if (any) {
            ctx.fireChannelReadComplete();
        }
        if (inputShutdown) {
            ctx.fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        }
        ctx.pipeline().remove(this);
    }

    /** Frees what was held; nothing will be passed on. */
    public void discard() {
        released = true;
        letGoOfCount();
        Object msg;
        while ((msg = messages.poll()) != null) {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        discard();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (released) {
            ctx.fireExceptionCaught(cause);
            return;
        }
        discard();
        if (ctx.pipeline().context(Relay.HANDLER_NAME) != null) {
            // The relay started and this hold is about to be released: the relay must see the failure, or the
            // channel's close would pass for a clean end on the other side.
            ctx.fireExceptionCaught(cause);
        }
        ctx.close();
    }
}
