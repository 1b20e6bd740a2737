package io.picotunnel.client.config;

import io.picotunnel.protocol.text.PercentEscapes;

import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;

/**
 * A proxy the client reaches the server through, as behind a corporate firewall: an HTTP proxy asked to {@code
 * CONNECT}, {@code http://[user:password@]host[:port]} (port 80 when left out, as Go's clients read it), the same
 * over TLS, {@code https://[user:password@]host[:port]} (port 443), as Go's clients take it, or a SOCKS5
 * proxy, {@code socks5://} or {@code socks5h://[user:password@]host[:port]} (port 1080 when left out). Each proxy is
 * given the server's name, and resolves it: {@code socks5} and {@code socks5h} mean the same, as Go's clients read
 * them (curl's {@code socks5} resolves the name itself). {@code source} names the setting it came from, for messages.
 *
 * <p>{@link #toString()} leaves the password out, so the proxy may be logged.
 */
public record ProxyUrl(Scheme scheme, HostPort hostPort, String user, String password, String source) {

    /** How the client talks to the proxy; socks5 and socks5h differ only in how the user wrote them. */
    public enum Scheme {
        HTTP("http", 80),
        HTTPS("https", 443),
        SOCKS5("socks5", 1080),
        SOCKS5H("socks5h", 1080);

        private final String text;
        private final int defaultPort;

        Scheme(String text, int defaultPort) {
            this.text = text;
            this.defaultPort = defaultPort;
        }

        public boolean socks() {
            return this == SOCKS5 || this == SOCKS5H;
        }

        /** The client speaks TLS to the proxy, and sends CONNECT inside it. */
        public boolean tls() {
            return this == HTTPS;
        }

        static Scheme of(String text) {
            for (Scheme scheme : values()) {
                if (scheme.text.equals(text)) {
                    return scheme;
                }
            }
            return null;
        }

        @Override
        public String toString() {
            return text;
        }
    }

    /** The value of {@code --proxy} / {@code PICOTUNNEL_PROXY} that ignores the standard variables. */
    public static final String NONE = "none";
    private static final int MAX_SOCKS_CREDENTIAL = 255;
    private static final String FORMS = "http://[user:password@]host:port, https://[user:password@]host:port,"
            + " socks5://[user:password@]host:port or socks5h://[user:password@]host:port";

    /**
     * The proxy for {@code server}: {@code setting} ({@code --proxy} or {@code PICOTUNNEL_PROXY}, named by {@code
     * settingName}) when given, none for {@code none}; else, as curl and Go's clients read them, {@code HTTPS_PROXY}
     * for a wss server and {@code HTTP_PROXY} for a ws one (upper case first, then lower case), unless {@code
     * NO_PROXY} names the server or the server is this machine (localhost, a loopback address); {@code ALL_PROXY}
     * is not read, as Go's {@code httpproxy} does not read it. Null: connect directly. Throws {@link
     * IllegalArgumentException} naming the setting that is wrong, also for a standard variable that names a proxy
     * this client cannot use (another scheme than http, https, socks5 and socks5h, such as a socks4:// proxy set
     * for other tools, or a value it cannot read): Go's clients never connect around such a proxy either (they use it, or fail
     * every connection), so the client does not start, and says how to give a proxy it can use or none. A path
     * in a standard variable ({@code http://proxy:3128/}) is ignored, as Go ignores it; our own setting refuses one.
     */
    public static ProxyUrl resolve(String setting, String settingName, ServerAddress server, Map<String, String> env) {
        if (setting != null) {
            if (setting.strip().equalsIgnoreCase(NONE)) {
                return null;
            }
            return parse(setting, settingName);
        }
        String[] names = server.tls() ? new String[] {"HTTPS_PROXY", "https_proxy"}
                : new String[] {"HTTP_PROXY", "http_proxy"};
        for (String name : names) {
            String value = env.get(name);
            if (value != null && !value.isBlank()) {
                if (NoProxy.bypasses(server, env)) {
                    return null;
                }
                String remedy = " Set " + Setting.PROXY.envVar() + " (or " + Setting.PROXY.flag() + ") to"
                        + " http://host:port or socks5://host:port for a proxy to use, or to none to connect to "
                        + server + " directly.";
                String scheme = scheme(value);
                if (scheme != null && Scheme.of(scheme) == null) {
                    throw new IllegalArgumentException(name + " names a proxy with scheme '" + printable(scheme)
                            + "', which this client does not support (http://, https://, socks5:// and socks5h:// only),"
                            + " and it"
                            + " does not connect around a proxy the environment asks for." + remedy);
                }
                try {
                    return parse(value, name, true);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(e.getMessage() + "." + remedy, e);
                }
            }
        }
        return null;
    }

    /** The scheme of a proxy URL in lower case, null without {@code ://}. */
    private static String scheme(String text) {
        String s = text.strip();
        int schemeEnd = s.indexOf("://");
        return schemeEnd < 0 ? null : s.substring(0, schemeEnd).toLowerCase(Locale.ROOT);
    }

    /**
     * A scheme for a message: itself when it reads as one (socks5, https), else "?": text before a "://" that is no
     * scheme may be a user and password.
     */
    private static String printable(String scheme) {
        return scheme.matches("[a-z][a-z0-9+.-]{0,15}") ? scheme : "?";
    }

    /**
     * Parses {@code http://}, {@code https://}, {@code socks5://} or {@code socks5h://[user:password@]host[:port]}, or {@code host:port}
     * (http, as Go reads a proxy without a scheme); {@code name} names the setting.
     */
    public static ProxyUrl parse(String text, String name) {
        return parse(text, name, false);
    }

    /** {@code ignorePath}: read {@code http://host:port/path} as {@code http://host:port}, as Go reads the variables. */
    private static ProxyUrl parse(String text, String name, boolean ignorePath) {
        String s = text.strip();
        String schemeText = scheme(s);
        Scheme scheme = Scheme.HTTP;
        if (schemeText != null) {
            scheme = Scheme.of(schemeText);
            if (scheme == null) {
                throw new IllegalArgumentException(name + ": a proxy with scheme '" + printable(schemeText) + "' is"
                        + " not supported (no socks4:// proxies); give a proxy as " + FORMS
                        + ", or none to connect directly");
            }
            s = s.substring(s.indexOf("://") + 3);
        }
        // The authority ends at the first '/', '?' or '#', as URL parsers read it (a '/' in a password is %2F).
        int end = s.length();
        for (char c : new char[] {'/', '?', '#'}) {
            int i = s.indexOf(c);
            if (i >= 0 && i < end) {
                end = i;
            }
        }
        if (s.indexOf('@', end) >= 0) {
            // A '/', '?' or '#' before the '@': a raw one in the password (http://user:pa/ss@host), which URL parsers
            // read as the end of the host ("user:pa"). Nothing of the URL is shown: it holds the password.
            throw new IllegalArgumentException(name + ": the proxy URL has a '/', '?' or '#' before its '@': in a user"
                    + " or password, percent-encode them ('/' as %2F, '?' as %3F, '#' as %23); the proxy itself is"
                    + " given as " + FORMS + ", without a path");
        }
        boolean hasPath = end < s.length() && !s.substring(end).equals("/");
        s = s.substring(0, end);
        String user = null;
        String password = null;
        int at = s.lastIndexOf('@');
        if (at >= 0) {
            String userInfo = s.substring(0, at);
            s = s.substring(at + 1);
            int colon = userInfo.indexOf(':');
            try {
                user = PercentEscapes.decode(colon < 0 ? userInfo : userInfo.substring(0, colon));
                password = colon < 0 ? "" : PercentEscapes.decode(userInfo.substring(colon + 1));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(name + ": the user or password of the proxy has a '%' not followed"
                        + " by two hex digits (write a % as %25)");
            }
        }
        if (scheme.socks() && user != null && (user.isEmpty() || utf8Length(user) > MAX_SOCKS_CREDENTIAL
                || utf8Length(password) > MAX_SOCKS_CREDENTIAL)) {
            // RFC 1929 carries each in 1 to 255 bytes (the password may be empty, as Go's SOCKS dialer sends it).
            throw new IllegalArgumentException(name + ": a SOCKS5 proxy's user must have 1 to 255 bytes and its"
                    + " password at most 255 (UTF-8)");
        }
        if (hasPath && !ignorePath) {
            throw new IllegalArgumentException(name + ": the proxy " + s + " must be given as " + scheme
                    + "://host:port, without a path");
        }
        boolean hasPort = s.startsWith("[") ? s.indexOf("]:") > 0 : s.indexOf(':') >= 0;
        HostPort hostPort;
        try {
            hostPort = HostPort.parseFromUrl(hasPort ? s : s + ":" + scheme.defaultPort);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + ": the proxy address " + e.getMessage());
        }
        return new ProxyUrl(scheme, hostPort, user, password, name);
    }

    private static int utf8Length(String text) {
        return text.getBytes(StandardCharsets.UTF_8).length;
    }

    /**
     * The proxy as {@code https://host:port}, without the user and password: how failures name it, the scheme telling
     * an http:// proxy from an https:// one on the same host.
     */
    public String address() {
        return scheme + "://" + hostPort;
    }

    /** The proxy as {@code http://user:…@host:port} (or https://, socks5://, socks5h://), without the password. */
    @Override
    public String toString() {
        return scheme + "://" + (user == null ? "" : user + ":…@") + hostPort;
    }
}
