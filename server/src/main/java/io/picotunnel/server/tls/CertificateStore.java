package io.picotunnel.server.tls;

import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * The certificates the server can present, by name ({@code example.com} or {@code *.example.com}).
 * Certificates from the operator (files, and the server domain's certificate from the settings) take precedence
 * over ones obtained by ACME, an operator's wildcard included; among the operator's (or ACME's) certificates an
 * exact name beats a wildcard. Certificates are found by the name they are filed under; an operator's certificate that
 * clients would refuse for that name (expired, not valid yet, or for other names than the file's) wins over nothing:
 * ACME obtains one for the names it is filed under, and it is served only where there is no other. So it does for an
 * operator's certificate past two thirds of its lifetime, as for its own, and serves its own once it has it.
 * Lookups are lock-free and always see the latest certificate, so a replaced certificate is used for the next
 * handshake.
 */
public final class CertificateStore {

    private final Map<String, ServerCertificate> configured = new ConcurrentHashMap<>();
    private final Map<String, ServerCertificate> fromFiles = new ConcurrentHashMap<>();
    private final Map<String, ServerCertificate> fromAcme = new ConcurrentHashMap<>();
    private final Clock clock;

    public CertificateStore() {
        this(Clock.systemUTC());
    }

    /** {@code clock} tells which of the operator's certificates are within their validity period. */
    public CertificateStore(Clock clock) {
        this.clock = clock;
    }

    /**
     * The certificate to present for a TLS server name (SNI), if any: an operator's certificate filed under the name
     * (exact before wildcard) that is valid now and holds the name, else one ACME obtained for it, else an operator's
     * certificate filed under the name whatever its dates and names. ACME leaves a name covered by an operator's
     * usable wildcard alone, so its certificate for that name, no longer renewed, must not win over the wildcard; but
     * once two thirds of the operator's certificate's lifetime have passed, ACME's wins when it is valid and outlasts it.
     */
    public Optional<ServerCertificate> select(String serverName) {
        Optional<ServerCertificate> file = selectFromFilesBeforeRenewal(serverName);
        if (file.isPresent()) {
            return file;
        }
        Instant now = clock.instant();
        Optional<ServerCertificate> acme = covering(fromAcme, DomainNames.normalize(serverName), any -> true);
        Optional<ServerCertificate> dueFile = selectFromFiles(serverName);
        if (dueFile.isPresent()) {
            // ACME's, obtained as the file's end draws near, once it is there; not one it left when the file came
            return acme.filter(certificate -> certificate.isValidAt(now)
                    && certificate.notAfter().isAfter(dueFile.get().notAfter())).or(() -> dueFile);
        }
        return acme.isPresent() ? acme : operators(serverName, any -> true);
    }

    /**
     * The operator's certificate for {@code serverName} that keeps ACME from the name: one {@link #selectFromFiles}
     * finds, before {@link ServerCertificate#operatorHandoverDue} (two thirds of its lifetime, as ACME renews its own,
     * and its last 30 days at the earliest). From then on ACME obtains one, served instead once it is there, so that
     * clients do not get the operator's once it has expired.
     */
    public Optional<ServerCertificate> selectFromFilesBeforeRenewal(String serverName) {
        Instant now = clock.instant();
        return operators(serverName, certificate -> certificate.isUsableFor(serverName, now)
                && now.isBefore(certificate.operatorHandoverDue()));
    }

    /**
     * An operator's certificate for {@code serverName} that clients accept now (valid, and holding the name): a
     * file's for the exact name, else the configured one ({@code PICOTUNNEL_TLS_CERT}) for that name, else a file's
     * wildcard. ACME leaves the names these cover alone.
     */
    public Optional<ServerCertificate> selectFromFiles(String serverName) {
        Instant now = clock.instant();
        return operators(serverName, certificate -> certificate.isUsableFor(serverName, now));
    }

    private Optional<ServerCertificate> operators(String serverName, Predicate<ServerCertificate> usable) {
        String name = DomainNames.normalize(serverName);
        ServerCertificate file = name == null ? null : fromFiles.get(name);
        if (file != null && usable.test(file)) {
            return Optional.of(file);
        }
        ServerCertificate configuredCertificate = name == null ? null : configured.get(name);
        if (configuredCertificate != null && usable.test(configuredCertificate)) {
            return Optional.of(configuredCertificate);
        }
        return covering(fromFiles, name, usable);
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

    /** The usable certificate in {@code certificates} for {@code name}, else for its one-label wildcard. */
    private static Optional<ServerCertificate> covering(Map<String, ServerCertificate> certificates, String name,
                                                        Predicate<ServerCertificate> usable) {
        if (name == null) {
            return Optional.empty();
        }
        ServerCertificate exact = certificates.get(name);
        if (exact != null && usable.test(exact)) {
            return Optional.of(exact);
        }
        String wildcard = DomainNames.wildcardOf(name);
        return Optional.ofNullable(wildcard == null ? null : certificates.get(wildcard)).filter(usable);
    }
}
