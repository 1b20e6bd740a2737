package io.picotunnel.server.net;

import io.netty.channel.ChannelException;
import io.netty.channel.unix.Errors;
import io.netty.handler.codec.DecoderException;

import javax.net.ssl.SSLException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.SocketException;
import java.nio.channels.ClosedChannelException;

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
     * Whether {@code cause} is a socket's or TLS's error, or wraps one in what Netty and we wrap them in: a
     * {@link DecoderException} (Netty's {@code SslHandler}), a {@link ChannelException}, an
     * {@link UncheckedIOException} (our epoll half-close). Any other I/O error, our store's or a file's, is ours.
     */
    public static boolean fromPeer(Throwable cause) {
        Throwable current = cause;
        for (int depth = 0; current != null && depth < MAX_DEPTH; depth++) {
            if (isSocketOrTlsError(current)) {
                return true;
            }
            if (!isWrapper(current)) {
                return false;
            }
            current = current.getCause();
        }
        return false;
    }

    /**
     * {@link SSLException} covers Netty's {@code NotSslRecordException} (garbage instead of a TLS record); epoll
     * reports a reset or a broken pipe as a {@code NativeIoException}, NIO a write's as a bare {@code IOException}.
     */
    private static boolean isSocketOrTlsError(Throwable t) {
        return t instanceof SocketException || t instanceof SSLException || t instanceof ClosedChannelException
                || t instanceof Errors.NativeIoException
                || t.getClass() == IOException.class && namesASocketError(t.getMessage());
    }

    private static boolean namesASocketError(String message) {
        return message != null && (message.contains("Connection reset") || message.contains("Broken pipe"));
    }

    private static boolean isWrapper(Throwable t) {
        return t instanceof DecoderException || t instanceof ChannelException || t instanceof UncheckedIOException;
    }
}
