package io.picotunnel.server.tls;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The certificates the server can present, by name ({@code example.com} or {@code *.example.com}).
 * Certificates from the operator (files, and the server domain's certificate from the settings) take precedence
 * over ones obtained by ACME, an operator's wildcard included; among the operator's (or ACME's) certificates an
 * exact name beats a wildcard. Lookups are lock-free and always see the latest certificate, so a replaced
 * certificate is used for the next handshake.
 */
public final class CertificateStore {

    private final Map<String, ServerCertificate> configured = new ConcurrentHashMap<>();
    private final Map<String, ServerCertificate> fromFiles = new ConcurrentHashMap<>();
    private final Map<String, ServerCertificate> fromAcme = new ConcurrentHashMap<>();

    /**
     * The certificate to present for a TLS server name (SNI), if any: an operator's certificate that covers the
     * name (exact before wildcard), else one ACME obtained for it. ACME leaves a name covered by an operator's
     * wildcard alone, so its certificate for that name, no longer renewed, must not win over the wildcard.
     */
    public Optional<ServerCertificate> select(String serverName) {
        Optional<ServerCertificate> file = selectFromFiles(serverName);
        return file.isPresent() ? file : covering(fromAcme, DomainNames.normalize(serverName));
    }

    /**
     * An operator's certificate that covers {@code serverName}: a file's for the exact name, else the configured one
     * ({@code PICOTUNNEL_TLS_CERT}) for that name, else a file's wildcard.
     */
    public Optional<ServerCertificate> selectFromFiles(String serverName) {
        String name = DomainNames.normalize(serverName);
        ServerCertificate configuredCertificate = name == null ? null : configured.get(name);
        if (configuredCertificate != null && !fromFiles.containsKey(name)) {
            return Optional.of(configuredCertificate);
        }
        return covering(fromFiles, name);
    }

    /**
     * The operator's certificate for the server's domain from the settings ({@code PICOTUNNEL_TLS_CERT}). A file for
     * the same name in the certificate directory is served instead while it is there; removing it brings this one
     * back.
     */
    public void putConfigured(String name, ServerCertificate certificate) {
        configured.put(DomainNames.normalize(name), certificate);
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

    /** The certificate in {@code certificates} for {@code name}, else for its one-label wildcard. */
    private static Optional<ServerCertificate> covering(Map<String, ServerCertificate> certificates, String name) {
        if (name == null) {
            return Optional.empty();
        }
        ServerCertificate exact = certificates.get(name);
        if (exact != null) {
            return Optional.of(exact);
        }
        String wildcard = DomainNames.wildcardOf(name);
        return wildcard == null ? Optional.empty() : Optional.ofNullable(certificates.get(wildcard));
    }
}
