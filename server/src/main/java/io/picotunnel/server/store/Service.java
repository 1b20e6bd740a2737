package io.picotunnel.server.store;

import io.picotunnel.server.access.AccessPolicy;

import java.time.Instant;
import java.util.Objects;

/**
 * A published service of a tunnel as stored. {@code http} services use domain, pathPrefix, tlsMode and
 * httpsRedirect; {@code tcp} services use listenAddr. Both forward to targetAddr on the client's side.
 * {@code access} is what stands in front of it (address lists, rate limit, sign-in). {@code creationOrder} is its
 * place in the order services were created, higher for a newer one: the rowid of its row (SQLite gives a new row one
 * above the largest there is), 0 for a service not stored. Which of two services is older is told by it, not by
 * {@code createdAt}, the wall clock's time, which a clock set back (NTP, a VM resumed) makes earlier for the newer.
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
        AccessPolicy access,
        long creationOrder) {

    public Service {
        Objects.requireNonNull(access, "access");
    }

    /** A service not stored (a draft, or one of a test): creation order 0. */
    public Service(String id, String tunnelId, ServiceType type, String domain, String pathPrefix, TlsMode tlsMode,
            String listenAddr, String targetAddr, boolean enabled, Instant createdAt, boolean httpsRedirect,
            AccessPolicy access) {
        this(id, tunnelId, type, domain, pathPrefix, tlsMode, listenAddr, targetAddr, enabled, createdAt, httpsRedirect,
                access, 0);
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
                httpsRedirect, next, creationOrder);
    }

    /** This service listening on {@code address} (a tcp service). */
    public Service withListenAddr(String address) {
        return new Service(id, tunnelId, type, domain, pathPrefix, tlsMode, address, targetAddr, enabled, createdAt,
                httpsRedirect, access, creationOrder);
    }

    /**
     * Whether the proxy answers this service's requests itself (an http service that terminates TLS): it counts
     * requests and is probed with a GET of its health path; a tcp or passthrough service relays connections.
     */
    public boolean answersRequests() {
        return type == ServiceType.HTTP && tlsMode != TlsMode.PASSTHROUGH;
    }

    /** This service as stored in row {@code rowid}. */
    Service withCreationOrder(long rowid) {
        return new Service(id, tunnelId, type, domain, pathPrefix, tlsMode, listenAddr, targetAddr, enabled, createdAt,
                httpsRedirect, access, rowid);
    }
}
