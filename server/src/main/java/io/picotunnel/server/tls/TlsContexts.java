package io.picotunnel.server.tls;

import io.netty.handler.codec.http2.Http2SecurityUtil;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolConfig.Protocol;
import io.netty.handler.ssl.ApplicationProtocolConfig.SelectedListenerFailureBehavior;
import io.netty.handler.ssl.ApplicationProtocolConfig.SelectorFailureBehavior;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;

import javax.net.ssl.SSLException;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;

/** Builds the server-side Netty SSL contexts: BoringSSL when its native library loads, else the JDK. */
public final class TlsContexts {

    /** The ALPN protocol of the TLS-ALPN-01 ACME challenge (RFC 8737). */
    public static final String ACME_TLS_1 = "acme-tls/1";

    private static final SslProvider PROVIDER = OpenSsl.isAvailable() && SslProvider.isAlpnSupported(SslProvider.OPENSSL)
            ? SslProvider.OPENSSL : SslProvider.JDK;

    private TlsContexts() {
    }

    public static SslProvider provider() {
        return PROVIDER;
    }

    /** A context for the HTTPS listener: ALPN offers h2 and http/1.1, TLS 1.2 and 1.3. */
    public static SslContext forHttps(PrivateKey key, List<X509Certificate> chain) throws SSLException {
        return builder(key, chain)
                .ciphers(Http2SecurityUtil.CIPHERS, SupportedCipherSuiteFilter.INSTANCE)
                .applicationProtocolConfig(alpn(ApplicationProtocolNames.HTTP_2, ApplicationProtocolNames.HTTP_1_1))
                .build();
    }

    /** A context for one TLS-ALPN-01 challenge: only {@code acme-tls/1}. */
    public static SslContext forAcmeChallenge(PrivateKey key, X509Certificate challengeCertificate) throws SSLException {
        return builder(key, List.of(challengeCertificate))
                .applicationProtocolConfig(alpn(ACME_TLS_1))
                .build();
    }

    /** A context for the tunnel endpoint (WebSocket over TLS, HTTP/1.1 only). */
    public static SslContext forTunnelEndpoint(PrivateKey key, List<X509Certificate> chain) throws SSLException {
        return builder(key, chain).build();
    }

    private static SslContextBuilder builder(PrivateKey key, List<X509Certificate> chain) {
        return SslContextBuilder.forServer(key, chain.toArray(X509Certificate[]::new))
                .sslProvider(PROVIDER)
                .protocols("TLSv1.3", "TLSv1.2");
    }

    private static ApplicationProtocolConfig alpn(String... protocols) {
        return new ApplicationProtocolConfig(Protocol.ALPN, SelectorFailureBehavior.NO_ADVERTISE,
                SelectedListenerFailureBehavior.ACCEPT, protocols);
    }
}
