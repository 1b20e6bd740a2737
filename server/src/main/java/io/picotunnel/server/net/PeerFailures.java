package io.picotunnel.server.net;

import java.io.IOException;

/**
 * Tells a connection's failures that come from the peer or the network (a reset, a broken pipe, a TLS record or
 * handshake the peer got wrong) from those of our own code, at a handler that sees both: the first are no news
 * (a debug line), the second are bugs to warn about with their stack trace.
 */
public final class PeerFailures {

    /** Causes looked through: wrappings are one or two deep; a cycle or a long chain is not the peer's doing. */
    private static final int MAX_DEPTH = 8;

    private PeerFailures() {
    }

    /**
     * Whether {@code cause} is an I/O error or wraps one within a few causes: {@link javax.net.ssl.SSLException} is
     * one (Netty's {@code NotSslRecordException}, garbage instead of a TLS record, too), and so is what Netty's
     * {@code SslHandler} reports as a {@code DecoderException} around one, or an
     * {@link java.io.UncheckedIOException} or {@code ChannelException} around a socket's error.
     */
    public static boolean fromPeer(Throwable cause) {
        Throwable current = cause;
        for (int depth = 0; current != null && depth < MAX_DEPTH; depth++) {
            if (current instanceof IOException) {
                return true;
            }
            current = current.getCause();
        }
        return false;
    }
}
