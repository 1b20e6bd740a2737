package io.picotunnel.server.tls;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.SniHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.AsyncMapping;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLException;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.function.LongSupplier;

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
    /** Our own failures to serve TLS (no certificate, none we can use), warned about once an interval for the endpoint. */
    private final EndpointTlsFailures ownFailures;
    /**
     * Whether the log said that wss is served now (only said when plain ws is allowed), ever: from then on a
     * ClientHello that finds no certificate is a wss client left without one. Set by {@link #certificatesChanged}, which
     * ends every directory scan, however it ends: the only way a certificate comes while plain ws is allowed (there is
     * no ACME then). Written under {@link #sayingLock}.
     */
    private volatile boolean certificateTold;
    /**
     * Whether the domain had a certificate at the last {@link #certificatesChanged}, which said so: one that comes after
     * the domain had none again (its file removed, then put back) is said again. Under {@link #sayingLock}.
     */
    private boolean servingTold;
    /**
     * Held while the log says what the endpoint serves ({@link #certificatesChanged}, {@link #sayStarted}), so that the
     * lines come in the order of what they saw. Not this object's lock, which an event loop holds while it builds a
     * context.
     */
    private final Object sayingLock = new Object();
    /**
     * The context (no ALPN: the endpoint speaks HTTP/1.1 WebSocket only) for the certificate last served, or why none
     * could be built from it: built again for each connection, a broken certificate would cost a build a connection.
     */
    private volatile Cached cached;
    private final ContextBuilder builder;
    private final LongSupplier nanoTime;

    /**
     * How long a failed build of a certificate's context is kept before the next connection builds it again. Every
     * certificate in the store has had a context built already, so what fails here passes (native memory, mostly):
     * kept until the file changes or the next restart, it would keep wss down for weeks.
     */
    static final Duration REBUILD_INTERVAL = Duration.ofSeconds(5);

    /** Builds the endpoint's TLS context of a certificate: {@link TlsContexts#forTunnelEndpoint} but in tests. */
    @FunctionalInterface
    interface ContextBuilder {
        SslContext build(PrivateKey key, List<X509Certificate> chain) throws SSLException;
    }

    /** {@code retryAt}: with a failure, the {@link System#nanoTime} from which the context is built again. */
    private record Cached(ServerCertificate certificate, SslContext context, SSLException failure, long retryAt) {
        boolean serves(ServerCertificate current, long now) {
            return certificate == current && (failure == null || now - retryAt < 0);
        }

        SslContext served() throws SSLException {
            if (failure != null) {
                throw failure;
            }
            return context;
        }
    }

    TunnelEndpointTls(CertificateStore store, String serverDomain, boolean plainAllowed) {
        this(store, serverDomain, plainAllowed, TlsContexts::forTunnelEndpoint, System::nanoTime);
    }

    /** With the context built by {@code builder} and the clock read for rebuilds ({@link System#nanoTime}). */
    TunnelEndpointTls(CertificateStore store, String serverDomain, boolean plainAllowed, ContextBuilder builder,
                      LongSupplier nanoTime) {
        this.store = store;
        this.builder = builder;
        this.nanoTime = nanoTime;
        this.serverDomain = serverDomain;
        this.plainAllowed = plainAllowed;
        this.ownFailures = new EndpointTlsFailures(log,
                () -> plainAllowed && !certificateTold);
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

    /**
     * After the certificate directory was read, and once as the endpoint starts: says that wss is served now, where
     * plain ws is allowed, once until the domain has no certificate again. The scanning thread and the starting one may
     * both find the certificate: said by the first.
     */
    void certificatesChanged() {
        synchronized (sayingLock) {
            boolean serving = plainAllowed && store.select(serverDomain).isPresent();
            if (serving && !servingTold) {
                certificateTold = true;
                log.info("Tunnel endpoint now serves wss with the certificate of {}; plain ws is still served to clients"
                        + " set up with ws:// until the next restart, after which only wss is", serverDomain);
            }
            servingTold = serving;
        }
    }

    /**
     * The start-up line of the endpoint, bound at {@code where} (host:port): wss, or plain ws for now (no certificate
     * yet) saying what gives it one, a file in {@code certificateDirectory} or {@code otherWays} (the settings). Decided
     * by what a client gets now, in turn with {@link #certificatesChanged}: a scan that reads the certificate while the
     * endpoint starts comes before the line saying wss, or after the one saying there is none, never before it.
     */
    public void sayStarted(String where, Path certificateDirectory, String otherWays) {
        synchronized (sayingLock) {
            if (!servesTls()) {
                log.warn("Tunnel endpoint on ws://{}/tunnel WITHOUT TLS for now: {} has no certificate yet. Put one in {}"
                        + " (served as wss at once, ws still served until the next restart), {}.", where, serverDomain,
                        certificateDirectory, otherWays);
            } else if (plainAllowed) {
                log.info("Tunnel endpoint on wss://{}/tunnel (certificate of {}), and on ws:// for clients set up with it"
                        + " until the next restart", where, serverDomain);
            } else {
                log.info("Tunnel endpoint on wss://{}/tunnel (certificate of {})", where, serverDomain);
            }
        }
    }

    /** A handler that reads the ClientHello and continues with TLS on the domain's current certificate. */
    ChannelHandler newHandler() {
        return newHandler(HttpsFrontDoor.CLOSE_NOTIFY_FLUSH_TIMEOUT);
    }

    /** As {@link #newHandler()}, a close waiting {@code closeNotifyTimeout} for its close_notify. */
    ChannelHandler newHandler(Duration closeNotifyTimeout) {
        return new EndpointSniHandler(closeNotifyTimeout, ownFailures, new AsyncMapping<>() {
            @Override
            public Future<SslContext> map(String input, Promise<SslContext> promise) {
                try {
                    return promise.setSuccess(currentContext());
                } catch (Throwable e) {
                    // thrown on, Netty would close the connection as the peer's doing, with a debug line only
                    return promise.setFailure(e);
                }
            }
        });
    }

    /** The endpoint's TLS: its close waits for close_notify as long as the HTTPS listener's, stated, not by default. */
    static final class EndpointSniHandler extends SniHandler {
        private final Duration closeNotifyTimeout;
        private final EndpointTlsFailures ownFailures;
        /**
         * Whether the lookup failed: the ClientHello stays in the decoder's buffer, which Netty decodes again as the
         * connection closes; read again, it would run the lookup (a TLS context build, maybe) and its warning again.
         */
        private boolean lookupFailed;

        EndpointSniHandler(Duration closeNotifyTimeout, EndpointTlsFailures ownFailures,
                           AsyncMapping<String, SslContext> contexts) {
            super(contexts, HttpsFrontDoor.MAX_CLIENT_HELLO, 10_000);
            this.closeNotifyTimeout = closeNotifyTimeout;
            this.ownFailures = ownFailures;
        }

        /**
         * A failed lookup is always ours (the mapping ignores the name the peer sent): warned about, and the
         * connection closed here. Netty would throw it on down the pipeline, past {@link #exceptionCaught}, as an
         * {@link SSLException} that the handshake handler takes for the peer's doing and logs at debug level only.
         */
        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
            if (lookupFailed) {
                in.skipBytes(in.readableBytes());
                return;
            }
            super.decode(ctx, in, out);
        }

        @Override
        protected void onLookupComplete(ChannelHandlerContext ctx, Future<SslContext> future) throws Exception {
            if (future.isSuccess()) {
                super.onLookupComplete(ctx, future);
                return;
            }
            lookupFailed = true;
            ownFailures.closed(ctx.channel().remoteAddress(), future.cause());
            try {
                super.onLookupComplete(ctx, future);
            } catch (DecoderException reported) {
                // what Netty throws for the failed lookup, after it cancelled its timeout and fired its SNI event
            }
            ctx.close();
        }

        /**
         * A ClientHello this handler cannot read (declared over the limit, not a TLS record) is the peer's doing,
         * anyone's with no token: a debug line, like the HTTPS listener's, not a warning for each such connection.
         */
        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("tunnel endpoint connection from {} failed before the TLS handshake: {}",
                    ctx.channel().remoteAddress(), cause.toString());
            ctx.close();
        }

        @Override
        protected SslHandler newSslHandler(SslContext context, ByteBufAllocator allocator) {
            SslHandler handler = super.newSslHandler(context, allocator);
            handler.setCloseNotifyFlushTimeoutMillis(closeNotifyTimeout.toMillis());
            return handler;
        }
    }

    /** No certificate for the domain in the store (yet): a sentence, no stack trace. */
    static final class NoCertificate extends SSLException {
        NoCertificate(String domain) {
            super("no certificate for " + domain + " yet (a file in <data>/certs/, PICOTUNNEL_TLS_CERT or ACME)");
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    }

    private SslContext currentContext() throws SSLException {
        ServerCertificate certificate = store.select(serverDomain).orElseThrow(() -> new NoCertificate(serverDomain));
        Cached current = cached;
        if (current != null && current.serves(certificate, nanoTime.getAsLong())) {
            return current.served();
        }
        return built(certificate);
    }

    /** Locked: event loops that meet a new certificate, or the end of a failure's interval, at once build it once. */
    private synchronized SslContext built(ServerCertificate certificate) throws SSLException {
        Cached current = cached;
        long now = nanoTime.getAsLong();
        if (current != null && current.serves(certificate, now)) {
            return current.served();
        }
        try {
            SslContext context = builder.build(certificate.key(), certificate.chain());
            cached = new Cached(certificate, context, null, 0);
            return context;
        } catch (SSLException | RuntimeException | LinkageError | OutOfMemoryError e) {
            // Netty's builder checks some of what it is given with unchecked exceptions; a native library that
            // failed to link is a LinkageError; direct memory running short is Netty's OutOfDirectMemoryError, the
            // passing failure the retry time is for. Other VirtualMachineErrors are not kept: each try warns again.
            SSLException failure = new SSLException("cannot build a TLS context from the certificate of "
                    + serverDomain, e);
            cached = new Cached(certificate, null, failure, now + REBUILD_INTERVAL.toNanos());
            throw failure;
        }
    }
}
