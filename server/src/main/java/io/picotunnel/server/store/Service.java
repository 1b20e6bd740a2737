package io.picotunnel.server.store;

import io.picotunnel.server.access.AccessPolicy;

import java.time.Instant;
import java.util.Objects;

/**
 * A published service of a tunnel as stored. {@code http} services use domain, pathPrefix, tlsMode and
 * httpsRedirect; {@code tcp} services use listenAddr. Both forward to targetAddr on the client's side.
 * {@code access} is what stands in front of it (address lists, rate limit, sign-in).
 */
public record Service(
        String id,
        String tunnelId,
        ServiceType type,
        String domain,
        String pathPrefix,
        TlsMode tlsMode,
        String listenAddr,
        String targetAddr,
        boolean enabled,
        Instant createdAt,
        boolean httpsRedirect,
        AccessPolicy access) {

    public Service {
        Objects.requireNonNull(access, "access");
    }

    /** An open service (no access control). */
    public Service(String id, String tunnelId, ServiceType type, String domain, String pathPrefix, TlsMode tlsMode,
            String listenAddr, String targetAddr, boolean enabled, Instant createdAt, boolean httpsRedirect) {
        this(id, tunnelId, type, domain, pathPrefix, tlsMode, listenAddr, targetAddr, enabled, createdAt, httpsRedirect,
                AccessPolicy.OPEN);
    }

    /** A service without HTTP-to-HTTPS redirect. */
    public Service(String id, String tunnelId, ServiceType type, String domain, String pathPrefix, TlsMode tlsMode,
            String listenAddr, String targetAddr, boolean enabled, Instant createdAt) {
        this(id, tunnelId, type, domain, pathPrefix, tlsMode, listenAddr, targetAddr, enabled, createdAt, false);
    }

    /** This service with {@code next} in front of it. */
    public Service withAccess(AccessPolicy next) {
        return new Service(id, tunnelId, type, domain, pathPrefix, tlsMode, listenAddr, targetAddr, enabled, createdAt,
                httpsRedirect, next);
    }
}
