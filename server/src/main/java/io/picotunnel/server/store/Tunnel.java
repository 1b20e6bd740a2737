package io.picotunnel.server.store;

import java.time.Instant;

/**
 * A tunnel as stored: one client identity. Only the SHA-256 of its token is kept, so {@code token} is set only on
 * the tunnel returned by {@link Store#createTunnel} and {@link Store#regenerateToken} (the one time it can be shown)
 * and is null on every tunnel read back.
 */
public record Tunnel(String id, String name, String token, Instant createdAt, Instant updatedAt) {

    /** This tunnel as any later read returns it: without the token. */
    public Tunnel withoutToken() {
        return new Tunnel(id, name, null, createdAt, updatedAt);
    }
}
