package io.picotunnel.server.tls;

import io.netty.handler.ssl.SslContext;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * A certificate chain with its private key and the Netty context that serves it. {@code source} says where
 * it came from (a file path, or "acme"), for log lines.
 */
public record ServerCertificate(List<X509Certificate> chain, PrivateKey key, SslContext sslContext, String source) {

    public X509Certificate leaf() {
        return chain.getFirst();
    }

    public Instant notBefore() {
        return leaf().getNotBefore().toInstant();
    }

    public Instant notAfter() {
        return leaf().getNotAfter().toInstant();
    }

    /** When two thirds of the lifetime have passed: the moment to renew. */
    public Instant renewalDue() {
        Duration lifetime = Duration.between(notBefore(), notAfter());
        return notBefore().plus(lifetime.multipliedBy(2).dividedBy(3));
    }

    public boolean isExpiredAt(Instant now) {
        return !now.isBefore(notAfter());
    }
}
