package io.picotunnel.protocol.relay;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.ssl.SslHandler;

import javax.net.ssl.SSLException;
import java.io.IOException;

/**
 * Lets a socket's failure (a TCP reset) reach the relay behind a TLS handler. Once the peer's close_notify came,
 * Netty's {@link SslHandler} takes an I/O error whose message says "Connection reset by peer" for the usual noise of
 * a peer that went away: it closes the channel without passing the error on, and the relay, seeing only the close,
 * would end the other side cleanly (a FIN on the stream, so the target read EOF). Put in front of the TLS handler,
 * this passes such an error on behind it, where the relay aborts the other side as for a reset of a plain socket.
 * Other errors (the TLS handler's own included) take the usual way through it.
 */
@ChannelHandler.Sharable
final class ResetPastTls extends ChannelInboundHandlerAdapter {

    static final String NAME = "reset-past-tls";
    private static final ResetPastTls INSTANCE = new ResetPastTls();

    private ResetPastTls() {
    }

    /** Puts the handler in front of {@code pipeline}'s TLS handler, if it has one. */
    static void addIfTls(ChannelPipeline pipeline) {
        ChannelHandlerContext tls = pipeline.context(SslHandler.class);
        if (tls != null && pipeline.get(NAME) == null) {
            pipeline.addBefore(tls.name(), NAME, INSTANCE);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ChannelHandlerContext tls = ctx.pipeline().context(SslHandler.class);
        if (tls != null && cause instanceof IOException && !(cause instanceof SSLException)) {
            tls.fireExceptionCaught(cause);
        } else {
            ctx.fireExceptionCaught(cause);
        }
    }
}
