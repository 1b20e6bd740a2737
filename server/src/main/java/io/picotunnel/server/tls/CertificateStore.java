package io.picotunnel.server.tls;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The certificates the server can present, by name ({@code example.com} or {@code *.example.com}).
 * Certificates from operator files take precedence over ones obtained by ACME; an exact name beats a
 * wildcard. Lookups are lock-free and always see the latest certificate, so a replaced certificate is
 * used for the next handshake.
 */
public final class CertificateStore {

    private final Map<String, ServerCertificate> fromFiles = new ConcurrentHashMap<>();
    private final Map<String, ServerCertificate> fromAcme = new ConcurrentHashMap<>();

    /** The certificate to present for a TLS server name (SNI), if any. */
    public Optional<ServerCertificate> select(String serverName) {
        String name = DomainNames.normalize(serverName);
        if (name == null) {
            return Optional.empty();
        }
        ServerCertificate exact = exact(name);
        if (exact != null) {
            return Optional.of(exact);
        }
        String wildcard = DomainNames.wildcardOf(name);
        return wildcard == null ? Optional.empty() : Optional.ofNullable(exact(wildcard));
    }

    /** An operator's certificate that covers {@code serverName}, exactly or by wildcard. */
    public Optional<ServerCertificate> selectFromFiles(String serverName) {
        String name = DomainNames.normalize(serverName);
        if (name == null) {
            return Optional.empty();
        }
        ServerCertificate exact = fromFiles.get(name);
        if (exact != null) {
            return Optional.of(exact);
        }
        String wildcard = DomainNames.wildcardOf(name);
        return wildcard == null ? Optional.empty() : Optional.ofNullable(fromFiles.get(wildcard));
    }

    public void putFromFile(String name, ServerCertificate certificate) {
        fromFiles.put(DomainNames.normalize(name), certificate);
    }

    public void removeFromFile(String name) {
        fromFiles.remove(DomainNames.normalize(name));
    }

    public void putFromAcme(String name, ServerCertificate certificate) {
        fromAcme.put(DomainNames.normalize(name), certificate);
    }

    public Optional<ServerCertificate> fromAcme(String name) {
        return Optional.ofNullable(fromAcme.get(DomainNames.normalize(name)));
    }

    public void removeFromAcme(String name) {
        fromAcme.remove(DomainNames.normalize(name));
    }

    private ServerCertificate exact(String name) {
        ServerCertificate file = fromFiles.get(name);
        return file != null ? file : fromAcme.get(name);
    }
}
