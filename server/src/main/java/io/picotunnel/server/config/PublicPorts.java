package io.picotunnel.server.config;

/**
 * The ports visitors and clients reach the listeners on, where a port mapping or a load balancer in front makes
 * them differ from the ports the server listens on (Docker's {@code -p 443:8443}, a Kubernetes Service); each is 0
 * when it is the listening port. Used where the server names its own addresses: {@code https_redirect}, the UI's
 * links and client commands.
 */
public record PublicPorts(int http, int https, int tunnel) {

    public PublicPorts {
        for (int port : new int[] {http, https, tunnel}) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port out of range: " + port);
            }
        }
    }

    public int httpOr(int listening) {
        return http == 0 ? listening : http;
    }

    public int httpsOr(int listening) {
        return https == 0 ? listening : https;
    }

    public int tunnelOr(int listening) {
        return tunnel == 0 ? listening : tunnel;
    }
}
