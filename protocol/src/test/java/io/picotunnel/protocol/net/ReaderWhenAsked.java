package io.picotunnel.protocol.net;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;

import java.io.ByteArrayOutputStream;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Last in the pipeline of a socket that reads only when asked: keeps what it reads, its end of input and a failure
 * fired to it, and asks for the next read itself only once told to drain.
 */
public final class ReaderWhenAsked extends ChannelInboundHandlerAdapter {

    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    public final AtomicBoolean draining = new AtomicBoolean();
    public final CompletableFuture<Void> ended = new CompletableFuture<>();
    public final CompletableFuture<Throwable> failed = new CompletableFuture<>();

    public synchronized String received() {
        return bytes.toString();
    }

    public synchronized int receivedBytes() {
        return bytes.size();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        synchronized (this) {
            ByteBuf buf = (ByteBuf) msg;
            byte[] read = new byte[buf.readableBytes()];
            buf.readBytes(read);
            bytes.writeBytes(read);
        }
        ReferenceCountUtil.release(msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (draining.get()) {
            ctx.read();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == ChannelInputShutdownEvent.INSTANCE) {
            ended.complete(null);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        failed.complete(cause);
        ctx.close();
    }
}
