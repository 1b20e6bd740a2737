package io.picotunnel.protocol.ws;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;

/**
 * Answers the peer's WebSocket pings, on both ends of a tunnel connection. A pong goes out at once while the
 * connection is writable; otherwise only the latest ping waits, answered once it is writable again (RFC 6455
 * 5.5.3 lets a pong answer only the most recent ping): a peer that pings without reading cannot fill our memory
 * with pongs (Netty's own handlers answer every ping whatever the connection's state). Nothing is answered after
 * a close frame went out. Sits right after the frame decoder; other frames pass on.
 */
public final class WebSocketPings extends ChannelDuplexHandler {

    private ByteBuf unanswered;
    private boolean closeSent;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof PingWebSocketFrame ping)) {
            ctx.fireChannelRead(msg);
            return;
        }
        if (closeSent) {
            ping.release();
        } else if (ctx.channel().isWritable() && unanswered == null) {
            ctx.writeAndFlush(new PongWebSocketFrame(ping.content()));
        } else {
            release();
            unanswered = ping.content();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (unanswered != null && ctx.channel().isWritable()) {
            ByteBuf payload = unanswered;
            unanswered = null;
            ctx.writeAndFlush(new PongWebSocketFrame(payload));
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof CloseWebSocketFrame) {
            closeSent = true;
            release();
        }
        ctx.write(msg, promise);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        release();
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        release();
    }

    private void release() {
        if (unanswered != null) {
            unanswered.release();
            unanswered = null;
        }
    }
}
