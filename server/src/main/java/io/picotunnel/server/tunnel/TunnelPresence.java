package io.picotunnel.server.tunnel;

import java.time.Instant;
import java.util.Optional;

/** What the rest of the server knows of connected tunnel clients. Implemented by the tunnel endpoint. */
public interface TunnelPresence {

    boolean isConnected(String tunnelId);

    /** When the current client connection of the tunnel was established, if one is connected. */
    Optional<Instant> connectedSince(String tunnelId);

    /** When a client of the tunnel was last connected (now, while connected), if ever since start-up. */
    Optional<Instant> lastSeen(String tunnelId);

    int connectedCount();

    /** Drops the tunnel's client at once (token regenerated, tunnel deleted). */
    void disconnect(String tunnelId);
}
