package io.picotunnel.server.net;

import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.NotSslRecordException;

import java.io.IOException;

/**
 * Tells a connection's failures that come from the peer or the network (a reset, a broken pipe, a TLS record or
 * handshake the peer got wrong) from those of our own code, at a handler that sees both: the first are no news
 * (a debug line), the second are bugs to warn about with their stack trace.
 */
public final class PeerFailures {

    private PeerFailures() {
    }

    /**
     * Whether {@code cause} is an I/O error ({@link javax.net.ssl.SSLException} is one) or a decoder's wrapping of one
     * (Netty's {@code SslHandler} reports a bad record or handshake as a {@link DecoderException} around an
     * {@code SSLException}; {@link NotSslRecordException}, garbage instead of a TLS record, is one too).
     */
    public static boolean fromPeer(Throwable cause) {
        if (cause instanceof IOException) {
            return true;
        }
        return cause instanceof DecoderException
                && (cause.getCause() instanceof IOException || cause instanceof NotSslRecordException);
    }
}
