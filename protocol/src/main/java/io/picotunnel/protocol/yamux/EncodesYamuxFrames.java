package io.picotunnel.protocol.yamux;

import io.netty.channel.ChannelHandler;

/**
 * A handler that turns the {@link YamuxFrame}s a {@link YamuxSession} writes into bytes for its transport: a session
 * added to a pipeline that already holds one, wherever in it, adds no {@link YamuxFrameEncoder} of its own.
 */
public interface EncodesYamuxFrames extends ChannelHandler {
}
