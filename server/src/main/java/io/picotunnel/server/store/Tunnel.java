package io.picotunnel.server.store;

import java.time.Instant;

/** A tunnel as stored: one client identity with its token. */
public record Tunnel(String id, String name, String token, Instant createdAt, Instant updatedAt) {
}
