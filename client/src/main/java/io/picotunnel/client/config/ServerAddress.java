package io.picotunnel.client.config;

import io.picotunnel.protocol.text.ControlCharacters;

import java.net.URI;
import java.util.Objects;

/**
 * Where the tunnel server listens: {@code host:port} (meaning wss), {@code ws://host:port} or
 * {@code wss://host:port}. The tunnel endpoint is always {@code /tunnel}, which a ws or wss URL may end with.
 */
public record ServerAddress(boolean tls, HostPort hostPort) {

    public static final String TUNNEL_PATH = "/tunnel";

    public ServerAddress {
        Objects.requireNonNull(hostPort, "hostPort");
    }

    /** The server's --tunnel-addr port when not set, named in the message for an address without a port. */
    private static final int DEFAULT_TUNNEL_PORT = 8443;

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
                throw new IllegalArgumentException("server address " + ControlCharacters.quoted(shown(text))
                        + " has scheme " + ControlCharacters.quoted(scheme) + "; use host:port, ws://host:port or"
                        + " wss://host:port");
            }
            s = s.substring(schemeEnd + 3);
            if (s.endsWith("/")) {
                s = s.substring(0, s.length() - 1);
            }
            // The endpoint's own URL, as dev-server.sh prints it and ngrok or frp users paste one: the same server.
            if (s.endsWith(TUNNEL_PATH) && s.indexOf('/') == s.length() - TUNNEL_PATH.length()) {
                s = s.substring(0, s.length() - TUNNEL_PATH.length());
            }
        }
        if (s.contains("/") || s.contains("?") || s.contains("#") || s.contains("@")) {
            throw new IllegalArgumentException("server address " + ControlCharacters.quoted(shown(text))
                    + " must be host:port without a path other than " + TUNNEL_PATH + "; the client always connects to "
                    + TUNNEL_PATH
                    + " and sends the token from --token");
        }
        if (s.startsWith("[") ? s.endsWith("]") : !s.isEmpty() && s.indexOf(':') < 0) {
            // Said before HostPort's "'host' is not host:port", which quoted the host alone and no way on.
            String given = text.strip();
            given = given.endsWith("/") ? given.substring(0, given.length() - 1) : given;
            throw new IllegalArgumentException("server address " + ControlCharacters.quoted(given) + " has no port;"
                    + " add the server's tunnel port (its --tunnel-addr, " + DEFAULT_TUNNEL_PORT + " by default),"
                    + " as in " + ControlCharacters.quoted(given + ":" + DEFAULT_TUNNEL_PORT));
        }
        HostPort hostPort;
        try {
            hostPort = schemeEnd >= 0 ? HostPort.parseFromUrl(s) : HostPort.parse(s, true);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("server address " + e.getMessage(), e);
        }
        return new ServerAddress(tls, withoutTrailingDot(hostPort));
    }

    /**
     * {@code tunnel.example.com.:8443} as {@code tunnel.example.com:8443}: the same name to DNS, but TLS names a server
     * without the dot (SNI forbids it, certificates never carry it), and the JDK refused it as SNI, so every
     * attempt failed before it left the client.
     */
    private static HostPort withoutTrailingDot(HostPort hostPort) {
        String host = hostPort.host();
        if (host.length() > 1 && host.endsWith(".") && !host.endsWith("..") && host.indexOf(':') < 0) {
            return new HostPort(host.substring(0, host.length() - 1), hostPort.port());
        }
        return hostPort;
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
