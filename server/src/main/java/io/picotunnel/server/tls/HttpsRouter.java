package io.picotunnel.server.tls;

import io.netty.handler.ssl.SslContext;

import java.util.Optional;

/**
 * Decides what the HTTPS listener does with a connection from its ClientHello: a TLS-ALPN-01 validation
 * gets its challenge certificate; the domain of a passthrough service is forwarded untouched; any other
 * name is terminated with its certificate, or refused when there is none. A ClientHello without SNI is
 * served the certificate of the server's own domain, if any.
 */
public final class HttpsRouter {

    private final CertificateStore certificates;
    private final PassthroughRoutes passthrough;
    private final TlsAlpnChallenges challenges;
    private final String serverDomain;

    public HttpsRouter(CertificateStore certificates, PassthroughRoutes passthrough, TlsAlpnChallenges challenges,
                       String serverDomain) {
        this.certificates = certificates;
        this.passthrough = passthrough;
        this.challenges = challenges;
        this.serverDomain = DomainNames.normalize(serverDomain);
    }

    public HttpsRoute route(ClientHello hello) {
        String name = DomainNames.normalize(hello.serverName());
        if (hello.alpnProtocols().contains(TlsContexts.ACME_TLS_1)) {
            Optional<SslContext> challenge = name == null ? Optional.empty() : challenges.challengeFor(name);
            return challenge.<HttpsRoute>map(context -> new HttpsRoute.AcmeChallenge(name, context))
                    .orElseGet(() -> new HttpsRoute.Reject(name, "no pending TLS-ALPN-01 challenge"));
        }
        if (name == null) {
            if (serverDomain != null) {
                Optional<ServerCertificate> own = certificates.select(serverDomain);
                if (own.isPresent()) {
                    return new HttpsRoute.Terminate(serverDomain, own.get().sslContext());
                }
            }
            return new HttpsRoute.Reject(null, "no server name (SNI) and no certificate for the server's domain");
        }
        Optional<PassthroughRoutes.Target> target = passthrough.lookup(name);
        if (target.isPresent()) {
            return new HttpsRoute.Passthrough(name, target.get().tunnelId(), target.get().targetAddr(),
                    target.get().serviceId(), target.get().access(), target.get().traffic());
        }
        return certificates.select(name)
                .<HttpsRoute>map(certificate -> new HttpsRoute.Terminate(name, certificate.sslContext()))
                .orElseGet(() -> new HttpsRoute.Reject(name, "no certificate"));
    }
}
