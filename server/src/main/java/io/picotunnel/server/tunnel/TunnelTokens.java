package io.picotunnel.server.tunnel;

import io.picotunnel.server.store.Tunnel;

import java.util.Optional;

/** Finds the tunnel a client token belongs to; the store implements it with a constant-time comparison. */
@FunctionalInterface
public interface TunnelTokens {

    Optional<Tunnel> findTunnelByToken(String token);
}
