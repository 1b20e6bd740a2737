package io.picotunnel.client.tunnel;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.picotunnel.protocol.ws.TunnelCloseStatus;

/**
 * Reads why the server closed the WebSocket (its close frame's status, sent after its GoAway) before the protocol
 * handler answers the frame and closes. A close with a status of no {@link TunnelCloseStatus} (an older server's, or
 * none) leaves the cause unknown.
 */
final class ServerCloseStatus extends ChannelInboundHandlerAdapter {

    private Promise<TunnelCloseStatus> received;

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        received = ctx.executor().newPromise();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof CloseWebSocketFrame close) {
            TunnelCloseStatus status = TunnelCloseStatus.of(close.statusCode());
            if (status != null) {
                received.trySuccess(status);
            }
        }
        ctx.fireChannelRead(msg);
    }

    /** Completes with the server's reason once its close frame names one; never, else. Null without the handler. */
    static Future<TunnelCloseStatus> of(Channel channel) {
        ServerCloseStatus handler = channel.pipeline().get(ServerCloseStatus.class);
        return handler == null ? null : handler.received;
    }
}
