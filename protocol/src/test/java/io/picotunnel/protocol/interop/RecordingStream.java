package io.picotunnel.protocol.interop;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Supplier;

/**
 * The reader of one stream the Go peer opened: takes everything (auto-read on) or only what the test asks for with
 * {@code stream.read()} (auto-read off), counts and digests it, and records how the stream ended: EOF, and whether
 * it was reset when it went inactive.
 */
final class RecordingStream extends ChannelInboundHandlerAdapter {

    private final boolean autoRead;
    private final ByteBufAllocator allocator;
    private final MessageDigest digest;
    volatile YamuxStreamChannel stream;
    volatile long bytesRead;
    volatile boolean eof;
    volatile boolean inactive;
    volatile long inactiveNanos;
    volatile boolean resetWhenInactive;

    /** A reader that takes everything ({@code autoRead}) or nothing until asked. */
    RecordingStream(boolean autoRead) {
        this(autoRead, null);
    }

    /** As above, the stream allocating its buffers from {@code allocator} (null: the connection's). */
    RecordingStream(boolean autoRead, ByteBufAllocator allocator) {
        this.autoRead = autoRead;
        this.allocator = allocator;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /** For the session's inbound streams: each gets the reader {@code reader} makes, also added to {@code all}. */
    static ChannelHandler eachInto(List<RecordingStream> all, Supplier<RecordingStream> reader) {
        return new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                RecordingStream r = reader.get();
                ch.pipeline().addLast(r);
                all.add(r);
            }
        };
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        stream = (YamuxStreamChannel) ctx.channel();
        ctx.channel().config().setAutoRead(autoRead);
        if (allocator != null) {
            ctx.channel().config().setAllocator(allocator);
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf data = (ByteBuf) msg;
        bytesRead += data.readableBytes();
        digest.update(data.nioBuffer());
        data.release();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == ChannelInputShutdownEvent.INSTANCE) {
            eof = true;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        resetWhenInactive = stream.isReset();
        inactiveNanos = System.nanoTime();
        inactive = true;
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }

    /** Of every byte read, once the reader is done (read on the event loop, which wrote it). */
    String sha256() {
        return HexFormat.of().formatHex(digest.digest());
    }
}
