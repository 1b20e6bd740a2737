package io.picotunnel.server.acme;

import io.netty.handler.ssl.SslContext;
import io.picotunnel.server.tls.DomainNames;
import io.picotunnel.server.tls.TlsAlpnChallenges;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The answers to pending ACME challenges: HTTP-01 key authorizations by token (served by the HTTP listener
 * at {@code /.well-known/acme-challenge/<token>}) and TLS-ALPN-01 certificates by domain (served by the
 * HTTPS listener to clients offering only {@code acme-tls/1}). Entries exist only while an order is validated.
 */
public final class ChallengeResponses implements TlsAlpnChallenges {

    private final Map<String, String> http01 = new ConcurrentHashMap<>();
    private final Map<String, SslContext> tlsAlpn01 = new ConcurrentHashMap<>();

    /** The key authorization for an HTTP-01 token, if that challenge is pending. */
    public Optional<String> http01(String token) {
        return token == null ? Optional.empty() : Optional.ofNullable(http01.get(token));
    }

    /** {@link #http01} as the function the HTTP proxy takes. */
    public Function<String, Optional<String>> http01Function() {
        return this::http01;
    }

    @Override
    public Optional<SslContext> challengeFor(String serverName) {
        String name = DomainNames.normalize(serverName);
        return name == null ? Optional.empty() : Optional.ofNullable(tlsAlpn01.get(name));
    }

    void putHttp01(String token, String keyAuthorization) {
        http01.put(token, keyAuthorization);
    }

    void removeHttp01(String token) {
        http01.remove(token);
    }

    void putTlsAlpn01(String domain, SslContext context) {
        tlsAlpn01.put(DomainNames.normalize(domain), context);
    }

    void removeTlsAlpn01(String domain) {
        tlsAlpn01.remove(DomainNames.normalize(domain));
    }
}
