package io.picotunnel.client.config;

import java.net.URI;

/**
 * Where the tunnel server listens: {@code host:port} (meaning wss), {@code ws://host:port} or
 * {@code wss://host:port}. The tunnel endpoint is always {@code /tunnel}.
 */
public record ServerAddress(boolean tls, HostPort hostPort) {

    public static final String TUNNEL_PATH = "/tunnel";

    public static ServerAddress parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("server address is empty");
        }
        String s = text.strip();
        boolean tls = true;
        int schemeEnd = s.indexOf("://");
        if (schemeEnd >= 0) {
            String scheme = s.substring(0, schemeEnd).toLowerCase(java.util.Locale.ROOT);
            if (scheme.equals("ws")) {
                tls = false;
            } else if (!scheme.equals("wss")) {
                throw new IllegalArgumentException("server address '" + text + "' has scheme '" + scheme
                        + "'; use host:port, ws://host:port or wss://host:port");
            }
            s = s.substring(schemeEnd + 3);
            if (s.endsWith("/")) {
                s = s.substring(0, s.length() - 1);
            }
        }
        if (s.contains("/") || s.contains("?") || s.contains("@")) {
            throw new IllegalArgumentException("server address '" + text
                    + "' must be host:port without a path; the client always connects to " + TUNNEL_PATH);
        }
        try {
            return new ServerAddress(tls, HostPort.parse(s));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("server address " + e.getMessage(), e);
        }
    }

    public String host() {
        return hostPort.host();
    }

    public int port() {
        return hostPort.port();
    }

    /** The WebSocket URI of the tunnel endpoint. */
    public URI tunnelUri() {
        return URI.create((tls ? "wss://" : "ws://") + hostPort + TUNNEL_PATH);
    }

    @Override
    public String toString() {
        return (tls ? "wss://" : "ws://") + hostPort;
    }
}
