package io.picotunnel.server.tunnel;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.picotunnel.protocol.relay.Hold;
import io.picotunnel.protocol.yamux.StreamAcknowledgedEvent;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;

import java.util.function.Consumer;

/**
 * First in the pipeline of a stream a visitor's connection opens: puts {@code hold} after itself, tells
 * {@code onAck} of the client's ACK (on the stream's loop) and steps out then, leaving the relay's path as it was.
 */
final class AckWatch extends ChannelInboundHandlerAdapter {

    private final Hold hold;
    private final Consumer<YamuxStreamChannel> onAck;

    AckWatch(Hold hold, Consumer<YamuxStreamChannel> onAck) {
        this.hold = hold;
        this.onAck = onAck;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        ctx.pipeline().addAfter(ctx.name(), Hold.HANDLER_NAME, hold);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == StreamAcknowledgedEvent.INSTANCE) {
            ctx.pipeline().remove(this);
            onAck.accept((YamuxStreamChannel) ctx.channel());
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }
}
