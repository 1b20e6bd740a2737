package io.picotunnel.server.config;

import io.picotunnel.protocol.config.SettingValues;
import io.picotunnel.server.net.PortRanges;

import java.time.Duration;
import java.util.Objects;

/**
 * What the server takes on at most, so that one client address or one tunnel cannot starve the rest.
 *
 * @param headerTimeout            how long a new connection to the HTTP, HTTPS or API listener may take to send
 *                                 its first request head
 * @param maxConnections           open connections per listener
 * @param maxConnectionsPerAddress open connections per client IP address and listener
 * @param maxTunnelRequests        proxied HTTP requests (streams) open at once per tunnel
 * @param maxTunnels               tunnels the API creates
 * @param maxServices              services the API creates, over all tunnels
 * @param tcpPorts                 ports tcp services may listen on
 */
public record Limits(Duration headerTimeout, int maxConnections, int maxConnectionsPerAddress, int maxTunnelRequests,
                     int maxTunnels, int maxServices, PortRanges tcpPorts) {

    /** The defaults of the settings. */
    public static final Limits DEFAULTS = new Limits(Duration.ofSeconds(20), 10_000, 256, 4096, 1000, 10_000,
            PortRanges.parse("1024-65535"));

    /** Checks {@code headerTimeout} by the rule and message of {@code --header-timeout}, also when made in code. */
    public Limits {
        SettingValues.duration(Setting.HEADER_TIMEOUT, headerTimeout, false);
        Objects.requireNonNull(tcpPorts, "tcpPorts");
        if (maxConnections < 1 || maxConnectionsPerAddress < 1 || maxTunnelRequests < 1 || maxTunnels < 0
                || maxServices < 0) {
            throw new IllegalArgumentException("limits must be positive");
        }
    }
}
