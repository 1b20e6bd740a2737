package io.picotunnel.server.tls;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.ssl.SniHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.AsyncMapping;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.picotunnel.server.net.PeerFailures;
import io.picotunnel.server.net.RefusalLog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLException;
import java.time.Duration;

/**
 * TLS for the tunnel endpoint (wss): whatever name the client sends (or none, when it dials an IP address),
 * the server presents the current certificate of its own domain, so a renewed or replaced certificate is
 * used for the next connection. Put {@link #newConnectionHandler()} first in the endpoint's pipeline.
 *
 * <p>An endpoint that started before its domain had a certificate (no file, no ACME) {@linkplain #plainAllowed()
 * allows plain ws}: each connection that opens with a TLS record gets TLS (once a certificate file for the domain is
 * there), any other plain WebSocket, so clients already set up with ws:// keep working until the next restart, which
 * serves wss only.
 */
public final class TunnelEndpointTls {

    private static final Logger log = LoggerFactory.getLogger(TunnelEndpointTls.class);

    private final CertificateStore store;
    private final String serverDomain;
    private final boolean plainAllowed;
    /** Warnings for our own failures before the handshake, shared by the endpoint's connections: one an interval. */
    private final RefusalLog unexpected = new RefusalLog(log);
    /** Whether the log said that wss is served now (only said when plain ws is allowed). */
    private volatile boolean certificateTold;
    /** The context (no ALPN: the endpoint speaks HTTP/1.1 WebSocket only) for the certificate last served. */
    private volatile Cached cached;

    private record Cached(ServerCertificate certificate, SslContext context) {
    }

    TunnelEndpointTls(CertificateStore store, String serverDomain, boolean plainAllowed) {
        this.store = store;
        this.serverDomain = serverDomain;
        this.plainAllowed = plainAllowed;
        CloseNotifyTimeoutLog.install();
    }

    public String serverDomain() {
        return serverDomain;
    }

    /** Whether plain ws is served too: the domain had no certificate when the endpoint started. */
    public boolean plainAllowed() {
        return plainAllowed;
    }

    /** Whether a client gets TLS when it asks for it: always without plain ws, else once the domain has a certificate. */
    public boolean servesTls() {
        return !plainAllowed || store.select(serverDomain).isPresent();
    }

    /** The handler to put first in a connection's pipeline: TLS, or TLS or plain by the connection's first bytes. */
    public ChannelHandler newConnectionHandler() {
        return plainAllowed ? new TlsOrPlain(this) : newHandler();
    }

    /** After the certificate directory was read: says once that wss is served now, where plain ws is allowed. */
    void certificatesChanged() {
        if (plainAllowed && !certificateTold && store.select(serverDomain).isPresent()) {
            certificateTold = true;
            log.info("Tunnel endpoint now serves wss with the certificate of {}; plain ws is still served to clients"
                    + " set up with ws:// until the next restart, after which only wss is", serverDomain);
        }
    }

    /** A handler that reads the ClientHello and continues with TLS on the domain's current certificate. */
    ChannelHandler newHandler() {
        return newHandler(HttpsFrontDoor.CLOSE_NOTIFY_FLUSH_TIMEOUT);
    }

    /** As {@link #newHandler()}, a close waiting {@code closeNotifyTimeout} for its close_notify. */
    ChannelHandler newHandler(Duration closeNotifyTimeout) {
        return new EndpointSniHandler(closeNotifyTimeout, unexpected, new AsyncMapping<>() {
            @Override
            public Future<SslContext> map(String input, Promise<SslContext> promise) {
                try {
                    return promise.setSuccess(currentContext());
                } catch (RuntimeException e) {
                    return promise.setFailure(e);
                }
            }
        });
    }

    /** The endpoint's TLS: its close waits for close_notify as long as the HTTPS listener's, stated, not by default. */
    static final class EndpointSniHandler extends SniHandler {
        private final Duration closeNotifyTimeout;
        private final RefusalLog unexpected;

        EndpointSniHandler(Duration closeNotifyTimeout, RefusalLog unexpected,
                           AsyncMapping<String, SslContext> contexts) {
            super(contexts, HttpsFrontDoor.MAX_CLIENT_HELLO, 10_000);
            this.closeNotifyTimeout = closeNotifyTimeout;
            this.unexpected = unexpected;
        }

        /**
         * A ClientHello this handler cannot read (declared over the limit, not a TLS record) or a peer gone is the
         * peer's doing, anyone's with no token: a debug line, like the HTTPS listener's, not a warning for each such
         * connection. What fails in our own set-up (no certificate, a context we cannot build) is warned about.
         */
        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            Object remote = ctx.channel().remoteAddress();
            if (fromPeer(cause)) {
                log.debug("tunnel endpoint connection from {} failed before the TLS handshake: {}", remote,
                        cause.toString());
            } else {
                unexpected.failed(() -> "tunnel endpoint connection from " + remote
                        + " closed on an unexpected error before the TLS handshake", cause);
            }
            ctx.close();
        }

        /**
         * The certificate's context not found or not built is ours: warned about, and the connection closed. Netty
         * would pass the failure on down the pipeline, past {@link #exceptionCaught}; the lookup left pending instead
         * ends with the connection.
         */
        @Override
        protected Future<SslContext> lookup(ChannelHandlerContext ctx, String hostname) throws Exception {
            Future<SslContext> context = super.lookup(ctx, hostname);
            if (!context.isDone() || context.isSuccess()) {
                return context;
            }
            Object remote = ctx.channel().remoteAddress();
            unexpected.failed(() -> "tunnel endpoint connection from " + remote
                    + " closed on an unexpected error before the TLS handshake", context.cause());
            ctx.close();
            return ctx.executor().newPromise();
        }

        private static boolean fromPeer(Throwable cause) {
            return PeerFailures.fromPeer(cause) || cause instanceof TooLongFrameException
                    || cause.getCause() instanceof TooLongFrameException;
        }

        @Override
        protected SslHandler newSslHandler(SslContext context, ByteBufAllocator allocator) {
            SslHandler handler = super.newSslHandler(context, allocator);
            handler.setCloseNotifyFlushTimeoutMillis(closeNotifyTimeout.toMillis());
            return handler;
        }
    }

    /** Throws {@link IllegalStateException}, not an {@link SSLException}, which would be taken for the peer's. */
    private SslContext currentContext() {
        ServerCertificate certificate = store.select(serverDomain)
                .orElseThrow(() -> new IllegalStateException("no certificate for " + serverDomain + " yet"));
        Cached current = cached;
        if (current != null && current.certificate() == certificate) {
            return current.context();
        }
        SslContext context;
        try {
            context = TlsContexts.forTunnelEndpoint(certificate.key(), certificate.chain());
        } catch (SSLException e) {
            throw new IllegalStateException("cannot build the TLS context for " + serverDomain, e);
        }
        cached = new Cached(certificate, context);
        return context;
    }
}
