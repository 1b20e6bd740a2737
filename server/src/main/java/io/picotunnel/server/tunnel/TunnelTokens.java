package io.picotunnel.server.tunnel;

import io.picotunnel.server.store.Tunnel;

import java.util.Optional;
import java.util.function.Function;

/** Finds the tunnel a client token belongs to, and a tunnel by its id; the store implements both. */
public interface TunnelTokens {

    Optional<Tunnel> findTunnelByToken(String token);

    /** The tunnel with this id; empty once deleted. Tells a token regenerated from a tunnel deleted. */
    Optional<Tunnel> findTunnel(String id);

    static TunnelTokens of(Function<String, Optional<Tunnel>> byToken, Function<String, Optional<Tunnel>> byId) {
        return new TunnelTokens() {
            @Override
            public Optional<Tunnel> findTunnelByToken(String token) {
                return byToken.apply(token);
            }

            @Override
            public Optional<Tunnel> findTunnel(String id) {
                return byId.apply(id);
            }
        };
    }
}
