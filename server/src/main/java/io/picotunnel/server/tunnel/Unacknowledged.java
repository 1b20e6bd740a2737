package io.picotunnel.server.tunnel;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;

/**
 * On a visitor's socket while its stream waits for the client's ACK: what the visitor sends goes on to the stream at
 * once and is kept too (retained, not copied), so that a stream the client refuses before its ACK can be opened on
 * another client with all of it, in order. Once {@link #KEEP_LIMIT} bytes are kept the socket is not read until the
 * ACK: at most that plus one read is kept. The visitor's end of input waits for the ACK too. At the ACK what was kept is let go and the handler
 * steps out, in front of the relay, which takes over (reading on if the stream is writable). On the socket's event
 * loop.
 */
final class Unacknowledged extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(Unacknowledged.class);

    static final String NAME = "unacknowledged";
    static final int KEEP_LIMIT = 64 * 1024;

    private final List<ByteBuf> kept = new ArrayList<>();
    private long keptBytes;
    private boolean inputShutdown;
    private boolean acknowledged;
    private ChannelHandlerContext ctx;
    private YamuxStreamChannel stream;

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        ctx.channel().config().setAutoRead(false);
    }

    /** Sends {@code header}, then everything kept so far, to {@code next}, and reads on. */
    void sendTo(YamuxStreamChannel next, ByteBuf header) {
        stream = next;
        next.write(header);
        for (ByteBuf data : kept) {
            next.write(data.retainedDuplicate());
        }
        next.flush();
        readOn();
    }

    YamuxStreamChannel stream() {
        return stream;
    }

    private void readOn() {
        if (!acknowledged && !inputShutdown && keptBytes < KEEP_LIMIT && ctx.channel().isActive()) {
            ctx.read();
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (acknowledged) {
            ctx.fireChannelRead(msg);
            return;
        }
        if (!(msg instanceof ByteBuf data) || stream == null) {
            ReferenceCountUtil.release(msg);
            return;
        }
        kept.add(data);
        keptBytes += data.readableBytes();
        stream.write(data.retainedDuplicate());
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (acknowledged) {
            ctx.fireChannelReadComplete();
            return;
        }
        if (stream != null) {
            stream.flush();
        }
        readOn();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == ChannelInputShutdownEvent.INSTANCE && !acknowledged) {
            inputShutdown = true;
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    /** The visitor left before the ACK: its stream goes too. */
    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (!acknowledged && stream != null) {
            stream.reset();
        }
        ctx.fireChannelInactive();
    }

    /**
     * The visitor's socket failed before the ACK (its reset after its end of input, say): it is closed, and its stream
     * goes with it. After the ACK the relay takes failures.
     */
    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (acknowledged) {
            ctx.fireExceptionCaught(cause);
            return;
        }
        LOG.debug("visitor {} failed before its stream's ACK: {}", ctx.channel().remoteAddress(), cause.toString());
        ctx.close();
    }

    /**
     * The client acknowledged the stream: what was kept is let go, the end of input, if it came, goes on to the
     * relay (started already, after this handler), and the handler leaves.
     */
    void acknowledged() {
        acknowledged = true;
        letGo();
        if (ctx.isRemoved()) {
            return;
        }
        if (inputShutdown) {
            ctx.fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        } else if (stream.isWritable()) {
            // The relay's first read may have come here, and the read complete it reads on from with it: with the
            // limit reached no read is pending, and nothing else would start one. Only while the stream can take
            // more, as the relay reads: else the relay reads when the stream turns writable.
            ctx.read();
        }
        ctx.pipeline().remove(this);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        letGo();
    }

    private void letGo() {
        for (ByteBuf data : kept) {
            data.release();
        }
        kept.clear();
        keptBytes = 0;
    }
}
