package io.picotunnel.protocol.yamux;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.ChannelInputShutdownEvent;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/** Records what one stream channel's pipeline sees: bytes, EOF, writability changes, close. */
class StreamRecorder extends ChannelInboundHandlerAdapter {

    final List<String> events = new CopyOnWriteArrayList<>();
    final AtomicLong bytesRead = new AtomicLong();
    private final ByteArrayOutputStream data = new ByteArrayOutputStream();
    private final boolean keepData;
    volatile YamuxStreamChannel channel;

    StreamRecorder(boolean keepData) {
        this.keepData = keepData;
    }

    StreamRecorder() {
        this(true);
    }

    /** A channel initializer that records every inbound stream, each with a fresh recorder. */
    static ChannelInitializer<Channel> forEachStream(List<StreamRecorder> sink, Consumer<Channel> setup) {
        return new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                setup.accept(ch);
                StreamRecorder recorder = new StreamRecorder();
                recorder.channel = (YamuxStreamChannel) ch;
                ch.pipeline().addLast(recorder);
                sink.add(recorder);
            }
        };
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        channel = (YamuxStreamChannel) ctx.channel();
        events.add("active");
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf buf = (ByteBuf) msg;
        bytesRead.addAndGet(buf.readableBytes());
        if (keepData) {
            byte[] bytes = new byte[buf.readableBytes()];
            buf.readBytes(bytes);
            synchronized (data) {
                data.writeBytes(bytes);
            }
        }
        buf.release();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == ChannelInputShutdownEvent.INSTANCE) {
            events.add("eof");
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        events.add("writable=" + ctx.channel().isWritable());
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        events.add("inactive");
        ctx.fireChannelInactive();
    }

    byte[] bytes() {
        synchronized (data) {
            return data.toByteArray();
        }
    }

    String text() {
        return new String(bytes(), StandardCharsets.UTF_8);
    }
}
