package io.picotunnel.server.store;

import java.time.Instant;

/**
 * A published service of a tunnel as stored. {@code http} services use domain, pathPrefix, tlsMode and
 * httpsRedirect; {@code tcp} services use listenAddr. Both forward to targetAddr on the client's side.
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
        boolean httpsRedirect) {

    /** A service without HTTP-to-HTTPS redirect. */
    public Service(String id, String tunnelId, ServiceType type, String domain, String pathPrefix, TlsMode tlsMode,
            String listenAddr, String targetAddr, boolean enabled, Instant createdAt) {
        this(id, tunnelId, type, domain, pathPrefix, tlsMode, listenAddr, targetAddr, enabled, createdAt, false);
    }
}
