package io.picotunnel.server.tunnel;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** What the rest of the server knows of connected tunnel clients. Implemented by the tunnel endpoint. */
public interface TunnelPresence {

    /** True while at least one client of the tunnel is connected. */
    boolean isConnected(String tunnelId);

    /** The tunnel's connected clients, oldest first; empty when none is. */
    List<ConnectedClient> clients(String tunnelId);

    /** When the earliest of the tunnel's connected clients connected, if one is connected. */
    Optional<Instant> connectedSince(String tunnelId);

    /** When a client of the tunnel was last connected (now, while connected), if ever since start-up. */
    Optional<Instant> lastSeen(String tunnelId);

    /** How many tunnels have at least one client connected. */
    int connectedCount();

    /** Drops every client of the tunnel at once (tunnel deleted). */
    void disconnect(String tunnelId);

    /**
     * Drops at once the clients of the tunnel that came with the token whose SHA-256 is {@code tokenSha256} (that token
     * was regenerated); those that came with a later token stay.
     */
    void disconnect(String tunnelId, String tokenSha256);
}
