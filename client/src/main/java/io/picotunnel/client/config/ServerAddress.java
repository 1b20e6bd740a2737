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
                throw new IllegalArgumentException("server address '" + shown(text) + "' has scheme '" + scheme
                        + "'; use host:port, ws://host:port or wss://host:port");
            }
            s = s.substring(schemeEnd + 3);
            if (s.endsWith("/")) {
                s = s.substring(0, s.length() - 1);
            }
        }
        if (s.contains("/") || s.contains("?") || s.contains("#") || s.contains("@")) {
            throw new IllegalArgumentException("server address '" + shown(text)
                    + "' must be host:port without a path; the client always connects to " + TUNNEL_PATH
                    + " and sends the token from --token");
        }
        try {
            return new ServerAddress(tls, HostPort.parse(s));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("server address " + e.getMessage(), e);
        }
    }

    /**
     * {@code text} as an error message may show it: without its query and fragment, nor what comes before an
     * {@code @}, where a URL copied from elsewhere ({@code wss://server:8443/tunnel?token=...}, {@code
     * ws://user:password@host:port}) carries a secret that would otherwise end up in the journal or the container's
     * log.
     */
    private static String shown(String text) {
        String s = text.strip();
        int query = s.length();
        for (char c : new char[] {'?', '#'}) {
            int at = s.indexOf(c);
            if (at >= 0 && at < query) {
                query = at;
            }
        }
        String hidden = query < s.length() ? s.substring(0, query) + s.charAt(query) + "…" : s;
        int at = hidden.lastIndexOf('@');
        if (at >= 0) {
            int scheme = hidden.indexOf("://");
            int start = scheme >= 0 && scheme < at ? scheme + 3 : 0;
            hidden = hidden.substring(0, start) + "…" + hidden.substring(at);
        }
        return hidden;
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
