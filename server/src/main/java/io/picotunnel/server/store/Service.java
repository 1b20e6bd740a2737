package io.picotunnel.server.store;

import java.time.Instant;

/**
 * A published service of a tunnel as stored. {@code http} services use domain, pathPrefix and tlsMode;
 * {@code tcp} services use listenAddr. Both forward to targetAddr on the client's side.
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
        Instant createdAt) {
}
