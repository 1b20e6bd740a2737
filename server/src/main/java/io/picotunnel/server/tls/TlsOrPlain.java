package io.picotunnel.server.tls;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.SslHandler;

import java.util.List;

/**
 * First in the pipeline of a tunnel endpoint that may serve both: a connection whose first bytes are a TLS record
 * continues with TLS, any other with plain WebSocket. Five bytes (a record header) tell; nothing is read for good.
 */
final class TlsOrPlain extends ByteToMessageDecoder {

    private static final int RECORD_HEADER = 5;

    private final TunnelEndpointTls tls;

    TlsOrPlain(TunnelEndpointTls tls) {
        this.tls = tls;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (in.readableBytes() < RECORD_HEADER) {
            return;
        }
        if (SslHandler.isEncrypted(in, false)) {
            ctx.pipeline().replace(this, ctx.name(), tls.newHandler());
        } else {
            ctx.pipeline().remove(this);
        }
    }
}
