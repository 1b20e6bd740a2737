package io.picotunnel.server.net;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.handler.codec.http2.Http2StreamChannel;

import java.time.Duration;

/**
 * The wait on a visitor to take in what is written to it (nginx's send_timeout): whether it took anything since the
 * last look, and how long it has taken nothing. Progress is a write to it done, or between two looks a change in the
 * bytes its channel has left to write, or over HTTP/2 in the bytes its stream sent ({@link Http2SentBytes}): a visitor
 * taking part of a long answer shows only there. The first look always counts as progress. A pending write is looked at every {@link #CHECK}, a timer task a second, where a task per write
 * would cost one per write. On the channel's event loop only.
 */
public final class SendWatch {

    /** How often a pending write is looked at for progress. */
    public static final Duration CHECK = Duration.ofSeconds(1);
    private static final long CHECK_NANOS = CHECK.toNanos();

    /** Runs {@code look} in {@code delayNanos}: the timer a watch is polled with, one its owner may share. */
    @FunctionalInterface
    public interface Timer {
        void arm(long delayNanos, Runnable look);
    }

    private final Channel channel;
    private final long timeoutNanos;
    /** The latest write to the visitor; null before the first. */
    private ChannelFuture write;
    /** What {@link #sendState} was at the last look; -1 before the first. */
    private long stateSeen = -1;
    /** When the visitor last took something, or the wait on it began, in {@link System#nanoTime} terms. */
    private long waitFrom;

    public SendWatch(Channel channel, Duration sendTimeout) {
        this.channel = channel;
        this.timeoutNanos = sendTimeout.toNanos();
        this.waitFrom = System.nanoTime();
    }

    /** {@code write} is the latest to the visitor: when none was pending before it, the wait on it starts now. */
    public void watch(ChannelFuture write) {
        if (!pending()) {
            waitFrom = System.nanoTime();
        }
        this.write = write;
    }

    /** The visitor took something (a write done), or a new wait begins: the wait starts over now. */
    public void restart() {
        waitFrom = System.nanoTime();
    }

    /** The latest write watched; null before the first. */
    public ChannelFuture write() {
        return write;
    }

    /** The latest write is not done: the wait on the visitor runs. */
    public boolean pending() {
        return write != null && !write.isDone();
    }

    /** What is left of the send timeout, in nanoseconds: 0 or less once it ran out. */
    public long left() {
        return waitFrom + timeoutNanos - System.nanoTime();
    }

    /** When to look next, in nanoseconds: in a {@link #CHECK}, or when the send timeout runs out if that is sooner. */
    public long nextLook() {
        return Math.max(0, Math.min(left(), CHECK_NANOS));
    }

    /**
     * Looks at how far the channel got with its writes: a change since the last look is progress.
     *
     * @return whether the visitor still has time: false once it took nothing for the send timeout
     */
    public boolean look() {
        long now = System.nanoTime();
        long state = sendState();
        if (state != stateSeen) {
            stateSeen = state;
            waitFrom = now;
        }
        return waitFrom + timeoutNanos - now > 0;
    }

    /**
     * Looks with {@code timer} until the latest write is done or the channel closed; a visitor that takes nothing for
     * the send timeout is given up on with {@code giveUp}.
     */
    public void poll(Timer timer, Runnable giveUp) {
        timer.arm(nextLook(), () -> {
            if (!pending() || !channel.isActive()) {
                return;
            }
            if (look()) {
                poll(timer, giveUp);
            } else {
                giveUp.run();
            }
        });
    }

    /**
     * A number that changes when the visitor takes something. An HTTP/2 stream has no outbound buffer of its own (its
     * writes wait in the connection's flow controller): the bytes it sent so far. Otherwise the bytes the channel has
     * left to write; the buffer's total falls only when a write leaves it whole, so the part of its first write
     * already sent counts off it, or a visitor taking part of a long write would be taking nothing.
     */
    private long sendState() {
        if (channel instanceof Http2StreamChannel stream) {
            return Http2SentBytes.of(stream);
        }
        ChannelOutboundBuffer outbound = channel.unsafe().outboundBuffer();
        return outbound == null ? 0 : outbound.totalPendingWriteBytes() - outbound.currentProgress();
    }
}
