package io.picotunnel.protocol.yamux;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.concurrent.EventExecutor;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.concurrent.TimeUnit;

/**
 * A {@link YamuxSession} on an {@link EmbeddedChannel}, driven frame by frame: the test plays the peer by
 * writing raw frames in and reading what the session wrote out. Time only moves when the test says so.
 */
final class RawPeer implements AutoCloseable {

    final EmbeddedChannel channel = new EmbeddedChannel();
    final YamuxSession session;
    private final EmbeddedChannel decoder = new EmbeddedChannel(new YamuxFrameDecoder(Integer.MAX_VALUE));

    RawPeer(YamuxRole role, YamuxConfig config, ChannelHandler inboundStreamHandler) {
        this(role, config, inboundStreamHandler, null);
    }

    /** With the session's handler on {@code executor} (made of the channel's loop), not on the loop itself. */
    @SuppressWarnings("deprecation") // a handler's own executor: deprecated for production pipelines, the seam here
    RawPeer(YamuxRole role, YamuxConfig config, ChannelHandler inboundStreamHandler,
            Function<EventExecutor, EventExecutor> executor) {
        channel.freezeTime();
        session = new YamuxSession(role, config, inboundStreamHandler);
        if (executor == null) {
            channel.pipeline().addLast(session);
        } else {
            channel.pipeline().addLast(executor.apply(channel.eventLoop()), session);
        }
    }

    /** Encodes the frames as the peer would and feeds them to the session (releases them). */
    void send(YamuxFrame... frames) {
        ByteBuf wire = Unpooled.buffer();
        for (YamuxFrame f : frames) {
            YamuxFrameEncoder.writeHeader(f, wire);
            wire.writeBytes(f.payload(), f.payload().readerIndex(), f.payload().readableBytes());
            f.release();
        }
        channel.writeInbound(wire);
        channel.runPendingTasks();
    }

    /** Every frame the session wrote since the last call, in order. */
    List<YamuxFrame> written() {
        channel.runPendingTasks();
        ByteBuf out;
        while ((out = channel.readOutbound()) != null) {
            decoder.writeInbound(out);
        }
        List<YamuxFrame> frames = new ArrayList<>();
        YamuxFrame f;
        while ((f = decoder.readInbound()) != null) {
            frames.add(f);
        }
        return frames;
    }

    /** The one frame the session wrote since the last call (fails if none or several). */
    YamuxFrame writtenOne() {
        List<YamuxFrame> frames = written();
        if (frames.size() != 1) {
            frames.forEach(YamuxFrame::release);
            throw new AssertionError("expected one frame, got " + frames);
        }
        return frames.get(0);
    }

    void advance(long millis) {
        channel.advanceTimeBy(millis, TimeUnit.MILLISECONDS);
        channel.runScheduledPendingTasks();
        channel.runPendingTasks();
    }

    /**
     * The connection closes as a real one does, the session's timers left to run: {@link EmbeddedChannel#close()}
     * would cancel every task scheduled on the loop, those the session sets as it ends among them.
     */
    void loseConnection() {
        channel.unsafe().close(channel.voidPromise());
        channel.runPendingTasks();
    }

    @Override
    public void close() {
        channel.finishAndReleaseAll();
        decoder.finishAndReleaseAll();
    }
}
