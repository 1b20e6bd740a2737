package io.picotunnel.protocol.yamux;

import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler;
import io.netty.util.concurrent.Future;

import java.time.Duration;

/**
 * A yamux session (hashicorp/yamux spec.md) on a Netty channel whose pipeline carries the raw yamux byte
 * stream as {@code ByteBuf} in both directions (a TCP socket, or a WebSocket behind a frame/ByteBuf adapter).
 * Add it as the last handler of the parent pipeline.
 *
 * <p>Every stream is a {@link YamuxStreamChannel}. Streams the peer opens get {@code inboundStreamHandler}
 * added to their pipeline (a {@code ChannelInitializer} or a {@code @Sharable} handler) and are registered
 * on the parent's event loop. A protocol error from the peer sends GoAway(PROTOCOL_ERROR) and closes the
 * parent channel; it never throws out of the pipeline.
 */
public final class YamuxSession extends ChannelDuplexHandler {

    public YamuxSession(YamuxRole role, YamuxConfig config, ChannelHandler inboundStreamHandler) {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /** The session installed on {@code parent}, or null. */
    public static YamuxSession of(Channel parent) {
        return parent.pipeline().get(YamuxSession.class);
    }

    /**
     * Opens a stream (sends SYN) from any thread. {@code handler} is added to the stream's pipeline before
     * it is registered. The future completes once the stream is registered and may be written to (data
     * written before the peer's ACK is sent within the initial window); it fails when the session is
     * closed or going away, or the stream limit is reached.
     */
    public Future<YamuxStreamChannel> openStream(ChannelHandler handler) {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /** Sends GoAway: no new streams in either direction, open streams go on until they end. */
    public void goAway(GoAwayCode code) {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /** True once either side sent GoAway. */
    public boolean isGoingAway() {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /** Sends a ping and completes with the round-trip time. */
    public Future<Duration> ping() {
        throw new UnsupportedOperationException("not implemented yet");
    }

    public int activeStreams() {
        throw new UnsupportedOperationException("not implemented yet");
    }

    public Channel parent() {
        throw new UnsupportedOperationException("not implemented yet");
    }
}
