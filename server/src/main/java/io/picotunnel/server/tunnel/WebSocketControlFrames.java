package io.picotunnel.server.tunnel;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.util.AttributeKey;
import io.picotunnel.protocol.ws.TunnelCloseStatus;
import io.picotunnel.protocol.ws.WebSocketByteStreamCodec;
import io.picotunnel.protocol.yamux.GoAwayCode;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.server.net.LingeringClose;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;

/**
 * Answers the closing handshake on the tunnel connection ({@link io.picotunnel.protocol.ws.WebSocketPings}, before
 * it, answers pings); data frames pass on. A frame the decoder rejects (too large, unmasked, ...) is answered with
 * a close frame carrying the decoder's status, then the output is shut and what the peer still sends is drained
 * for a short while: closing at once with unread input would reset the connection, and the peer would lose the
 * close frame that says why.
 */
final class WebSocketControlFrames extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(WebSocketControlFrames.class);
    /** 5 s in all, however much: the rest of a frame too large for us is drained, for the close frame to arrive. */
    private static final LingeringClose.Bounds LINGER =
            new LingeringClose.Bounds(Duration.ofSeconds(5), Duration.ofSeconds(5), Long.MAX_VALUE);

    /**
     * Set on a connection whose GoAway was the stopping server's ({@link #goAwayOfTheStop}), not one the session sent
     * before on its own (an unanswered ping, a protocol error), which the session's going away alone does not tell.
     */
    private static final AttributeKey<Boolean> GOAWAY_FOR_STOP =
            AttributeKey.valueOf(WebSocketControlFrames.class, "goAwayForStop");

    private boolean closing;

    /**
     * Closes the tunnel connection with a close frame saying {@code why}, on its loop. Written below the yamux session
     * (which takes its own frames only), so it follows what the session wrote before, its GoAway.
     */
    static void close(Channel channel, TunnelCloseStatus why) {
        ChannelFuture written = writeCloseFrame(channel, why);
        if (written != null) {
            written.addListener(ChannelFutureListener.CLOSE);
        }
    }

    /**
     * As {@link #close}, but the connection ends with a lingering close: the output is shut after the close frame and
     * what the client still sends (its answering close frame, a ping it sent before it read ours, stream data) is read
     * and dropped until it closes, 5 s at most. Closed with input unread, or getting more after its close, the
     * connection would be reset, and a reset that arrives before the client has read the close frame discards it.
     */
    static void closeAfterTheAnswer(Channel channel, TunnelCloseStatus why) {
        ChannelFuture written = writeCloseFrame(channel, why);
        if (written != null) {
            LingeringClose.after(written, LINGER);
        }
    }

    /** The close frame saying {@code why}, written below the session; null when none is (closed, or sent already). */
    private static ChannelFuture writeCloseFrame(Channel channel, TunnelCloseStatus why) {
        ChannelHandlerContext bytes = channel.pipeline().context(WebSocketByteStreamCodec.class);
        if (bytes == null || !channel.isActive()) {
            channel.close();
            return null;
        }
        WebSocketControlFrames control = channel.pipeline().get(WebSocketControlFrames.class);
        if (control != null) {
            if (control.closing) {
                // One close frame a connection: both the drain and a handshake it met may end it, or the client did.
                return null;
            }
            // The client's answering close frame is not echoed back.
            control.closing = true;
        }
        return bytes.writeAndFlush(why.frame());
    }

    /**
     * GoAway on the session, then at once the close frame saying {@code why}, and the connection ended as by
     * {@link #closeAfterTheAnswer}: for a session that carries no stream.
     */
    static void goAway(Channel channel, YamuxSession session, TunnelCloseStatus why) {
        session.goAway(GoAwayCode.NORMAL);
        closeAfterTheAnswer(channel, why);
    }

    /**
     * For a stopping server: GoAway on the session, then, once its last stream has ended (at once when none is open),
     * the close frame saying the server stops, the connection ended as by {@link #closeAfterTheAnswer}. Not at the end
     * of the grace period: a client with no stream left closes its connection long before, and would not learn why.
     */
    static void goAwayForStop(Channel channel, YamuxSession session) {
        goAwayOfTheStop(channel, session);
        // Queued after the GoAway on the same loop, as is the close frame.
        session.whenNoStreams(() -> closeAfterTheAnswer(channel, TunnelCloseStatus.SERVER_STOPPING));
    }

    /**
     * GoAway on the session of a stopping server, marked as such when it is the session's first: one it sent before on
     * its own stays the reason its client went away. On the connection's loop, where the session sends it at once.
     */
    static void goAwayOfTheStop(Channel channel, YamuxSession session) {
        boolean goingAwayBefore = session.isGoingAway();
        session.goAway(GoAwayCode.NORMAL);
        if (!goingAwayBefore && session.isGoingAway()) {
            channel.attr(GOAWAY_FOR_STOP).set(Boolean.TRUE);
        }
    }

    /** Whether the GoAway on {@code channel} was the stopping server's ({@link #goAwayOfTheStop}). */
    static boolean sentGoAwayForStop(Channel channel) {
        return channel != null && channel.hasAttr(GOAWAY_FOR_STOP);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof PongWebSocketFrame pong) {
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
        // The status's own short reason: a control frame holds at most 125 bytes. What follows the violation is
        // dropped by the lingering close before it reaches the decoder.
        LingeringClose.after(ctx.writeAndFlush(new CloseWebSocketFrame(status)), LINGER);
    }
}
