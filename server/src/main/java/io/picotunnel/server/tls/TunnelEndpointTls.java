package io.picotunnel.server.tls;

import io.netty.channel.ChannelHandler;
import io.netty.handler.ssl.SniHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.util.AsyncMapping;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;

import javax.net.ssl.SSLException;

/**
 * TLS for the tunnel endpoint (wss): whatever name the client sends (or none, when it dials an IP address),
 * the server presents the current certificate of its own domain, so a renewed or replaced certificate is
 * used for the next connection. Put {@link #newHandler()} first in the endpoint's pipeline.
 */
public final class TunnelEndpointTls {

    private final CertificateStore store;
    private final String serverDomain;
    /** The context (no ALPN: the endpoint speaks HTTP/1.1 WebSocket only) for the certificate last served. */
    private volatile Cached cached;

    private record Cached(ServerCertificate certificate, SslContext context) {
    }

    TunnelEndpointTls(CertificateStore store, String serverDomain) {
        this.store = store;
        this.serverDomain = serverDomain;
    }

    public String serverDomain() {
        return serverDomain;
    }

    /** A handler that reads the ClientHello and continues with TLS on the domain's current certificate. */
    public ChannelHandler newHandler() {
        return new SniHandler(new AsyncMapping<String, SslContext>() {
            @Override
            public Future<SslContext> map(String input, Promise<SslContext> promise) {
                try {
                    return promise.setSuccess(currentContext());
                } catch (SSLException e) {
                    return promise.setFailure(e);
                }
            }
        }, HttpsFrontDoor.MAX_CLIENT_HELLO, 10_000);
    }

    private SslContext currentContext() throws SSLException {
        ServerCertificate certificate = store.select(serverDomain)
                .orElseThrow(() -> new SSLException("no certificate for " + serverDomain + " yet"));
        Cached current = cached;
        if (current != null && current.certificate() == certificate) {
            return current.context();
        }
        SslContext context = TlsContexts.forTunnelEndpoint(certificate.key(), certificate.chain());
        cached = new Cached(certificate, context);
        return context;
    }
}
