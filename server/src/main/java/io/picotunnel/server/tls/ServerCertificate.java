package io.picotunnel.server.tls;

import io.netty.handler.ssl.SslContext;

import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import java.security.PrivateKey;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * A certificate chain with its private key and the Netty context that serves it. {@code source} says where
 * it came from (a file path, or "acme"), for log lines.
 */
public record ServerCertificate(List<X509Certificate> chain, PrivateKey key, SslContext sslContext, String source) {

    private static final int DNS_NAME = 2;

    public X509Certificate leaf() {
        return chain.getFirst();
    }

    public Instant notBefore() {
        return leaf().getNotBefore().toInstant();
    }

    public Instant notAfter() {
        return leaf().getNotAfter().toInstant();
    }

    /** How long before its end an operator's certificate is left to ACME at the latest. */
    public static final Duration OPERATOR_HANDOVER = Duration.ofDays(30);

    /** When two thirds of the lifetime have passed: the moment to renew. */
    public Instant renewalDue() {
        Duration lifetime = Duration.between(notBefore(), notAfter());
        return notBefore().plus(lifetime.multipliedBy(2).dividedBy(3));
    }

    /**
     * When ACME takes a name over from an operator's certificate file: as it renews its own (two thirds of the
     * lifetime), but never earlier than {@link #OPERATOR_HANDOVER} before the end, so that a one-year certificate an
     * operator renews a few weeks ahead is not replaced months before they meant to.
     */
    public Instant operatorHandoverDue() {
        Instant lastDays = notAfter().minus(OPERATOR_HANDOVER);
        return lastDays.isAfter(renewalDue()) ? lastDays : renewalDue();
    }

    public boolean isExpiredAt(Instant now) {
        return !now.isBefore(notAfter());
    }

    /** Within its validity period at {@code now}: neither expired nor before its start. */
    public boolean isValidAt(Instant now) {
        return !now.isBefore(notBefore()) && !isExpiredAt(now);
    }

    /**
     * The host names the leaf is for, normalized: its subjectAltName DNS entries, or its common name when it has
     * none (as clients did before subjectAltName).
     */
    public List<String> names() {
        List<String> names = new ArrayList<>();
        try {
            Collection<List<?>> alternatives = leaf().getSubjectAlternativeNames();
            if (alternatives != null) {
                for (List<?> entry : alternatives) {
                    if (entry.size() == 2 && entry.get(0) instanceof Integer type && type == DNS_NAME
                            && entry.get(1) instanceof String name && DomainNames.normalize(name) != null) {
                        names.add(DomainNames.normalize(name));
                    }
                }
            }
        } catch (CertificateParsingException e) {
            return List.of();
        }
        if (names.isEmpty()) {
            commonName().ifPresent(names::add);
        }
        return List.copyOf(names);
    }

    /** Whether a client checking host names accepts this certificate for {@code name} (a wildcard only for itself). */
    public boolean covers(String name) {
        String wanted = DomainNames.normalize(name);
        if (wanted == null) {
            return false;
        }
        String wildcard = DomainNames.isWildcard(wanted) ? null : DomainNames.wildcardOf(wanted);
        return names().stream().anyMatch(n -> n.equals(wanted) || n.equals(wildcard));
    }

    /** Whether clients accept this certificate for {@code name} at {@code now}: within its dates and for that name. */
    public boolean isUsableFor(String name, Instant now) {
        return isValidAt(now) && covers(name);
    }

    /**
     * Why this certificate cannot be served for {@code name} at {@code now} without clients refusing it: expired,
     * not valid yet, or for other names; empty when none of these.
     */
    public List<String> problemsFor(String name, Instant now) {
        List<String> problems = new ArrayList<>();
        if (isExpiredAt(now)) {
            problems.add("it expired at " + notAfter());
        } else if (now.isBefore(notBefore())) {
            problems.add("it is not valid before " + notBefore());
        }
        if (!covers(name)) {
            List<String> names = names();
            problems.add("it is for " + (names.isEmpty() ? "no host name" : String.join(", ", names)) + ", not " + name);
        }
        return List.copyOf(problems);
    }

    private Optional<String> commonName() {
        try {
            for (Rdn rdn : new LdapName(leaf().getSubjectX500Principal().getName()).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN") && rdn.getValue() instanceof String cn) {
                    return Optional.ofNullable(DomainNames.normalize(cn));
                }
            }
        } catch (InvalidNameException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }
}
