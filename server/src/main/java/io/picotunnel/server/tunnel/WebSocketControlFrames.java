package io.picotunnel.server.tunnel;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.picotunnel.server.net.LingeringClose;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;

/**
 * Answers WebSocket pings and the closing handshake on the tunnel connection; data frames pass on. A frame the
 * decoder rejects (too large, unmasked, ...) is answered with a close frame carrying the decoder's status, then
 * the output is shut and what the peer still sends is drained for a short while: closing at once with unread
 * input would reset the connection, and the peer would lose the close frame that says why.
 */
final class WebSocketControlFrames extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(WebSocketControlFrames.class);
    private static final Duration LINGER = Duration.ofSeconds(5);

    private boolean closing;
    /** The latest ping's payload, answered once the connection is writable again. */
    private ByteBuf unansweredPing;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof PingWebSocketFrame ping) {
            if (ctx.channel().isWritable()) {
                ctx.writeAndFlush(new PongWebSocketFrame(ping.content()));
            } else {
                // A peer that pings without reading must not fill our memory with pongs: RFC 6455 lets a pong
                // answer only the latest ping (5.5.3), so one waits, and newer pings replace it.
                releaseUnansweredPing();
                unansweredPing = ping.content();
            }
        } else if (msg instanceof PongWebSocketFrame pong) {
            pong.release();
        } else if (msg instanceof CloseWebSocketFrame close) {
            if (closing) {
                close.release();
                return;
            }
            closing = true;
            // Echo the status back and close the TCP connection: the yamux session ends with it.
            ctx.writeAndFlush(close).addListener(ChannelFutureListener.CLOSE);
        } else {
            ctx.fireChannelRead(msg);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (unansweredPing != null && ctx.channel().isWritable() && !closing) {
            ByteBuf payload = unansweredPing;
            unansweredPing = null;
            ctx.writeAndFlush(new PongWebSocketFrame(payload));
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        releaseUnansweredPing();
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        releaseUnansweredPing();
    }

    private void releaseUnansweredPing() {
        if (unansweredPing != null) {
            unansweredPing.release();
            unansweredPing = null;
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof CorruptedWebSocketFrameException corrupt) {
            LOG.info("{}: closing a tunnel connection that sent an invalid WebSocket frame: {}",
                    ctx.channel().remoteAddress(), cause.getMessage());
            closeAfterViolation(ctx, corrupt);
        } else {
            ctx.fireExceptionCaught(cause);
        }
    }

    private void closeAfterViolation(ChannelHandlerContext ctx, CorruptedWebSocketFrameException corrupt) {
        if (closing) {
            ctx.close();
            return;
        }
        closing = true;
        WebSocketCloseStatus status =
                corrupt.closeStatus() != null ? corrupt.closeStatus() : WebSocketCloseStatus.PROTOCOL_ERROR;
        // The status's own short reason: a control frame holds at most 125 bytes. The decoder discards what
        // follows a violation, so the lingering reads drain it.
        LingeringClose.after(ctx.writeAndFlush(new CloseWebSocketFrame(status)), LINGER);
    }
}
