package io.picotunnel.protocol.relay;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.epoll.HalfClosedEpollChannels;

/**
 * First in a relayed socket's pipeline: makes the socket level-triggered again before any read reaches the transport,
 * whichever handler asks for it. Edge-triggered, a read asked for would be reported only on a new edge, and bytes
 * or an end of input already waiting would never be read ({@link HalfClosedEpollChannels#reportEventsOnceWhileIdle}).
 */
@ChannelHandler.Sharable
final class LevelTriggeredReads extends ChannelOutboundHandlerAdapter {

    static final String NAME = "level-triggered-reads";
    static final LevelTriggeredReads INSTANCE = new LevelTriggeredReads();

    private LevelTriggeredReads() {
    }

    @Override
    public void read(ChannelHandlerContext ctx) {
        HalfClosedEpollChannels.reportEventsWhileReady(ctx.channel());
        ctx.read();
    }
}
