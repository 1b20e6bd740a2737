package io.picotunnel.server.auth;

import io.javalin.http.Context;

import java.net.URI;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Checks about where a request comes from and which name it was sent to: the CSRF defence for writes made
 * with the session cookie, and the Host check against DNS rebinding.
 */
final class RequestOrigin {

    private static final Set<String> LOOPBACK_NAMES = Set.of("localhost", "127.0.0.1", "::1", "[::1]");

    private static final Pattern IPV4 = Pattern.compile("(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");
    private static final Pattern IPV6 = Pattern.compile("[0-9a-f:.]*:[0-9a-f:.]*(%[0-9a-z_.-]+)?");

    private final String domain;
    private final URI redirectUrl;
    private final boolean authDisabled;

    RequestOrigin(String domain, URI redirectUrl, boolean authDisabled) {
        this.domain = domain == null || domain.isBlank() ? null : domain.trim().toLowerCase(Locale.ROOT);
        this.redirectUrl = redirectUrl;
        this.authDisabled = authDisabled;
    }

    /**
     * Whether the Host header may name this server. While authentication is on, any name: every route that holds
     * anything needs the session cookie or a token, and a page on a rebound name has neither (the cookie belongs to
     * the name it was set for), so a name checks nothing there, and refusing names only broke Kubernetes probes
     * (the pod's IP), curl by IP and a UI behind an Ingress under another name. With {@code PICOTUNNEL_AUTH=none}
     * nothing else stands between a page and the API, so only loopback names, IP literals (a rebound name is
     * never one), the domain and the host of the OIDC redirect URL are answered: a name an attacker controls could
     * be made to resolve to this server (DNS rebinding) and its pages would then reach the API.
     */
    boolean hostAllowed(Context ctx) {
        if (!authDisabled) {
            return true;
        }
        String host = ctx.header("Host");
        if (host == null || host.isBlank()) {
            return false;
        }
        String name = hostName(host);
        return loopbackOrIpLiteral(name) || name.equals(domain)
                || (redirectUrl != null && name.equalsIgnoreCase(redirectUrl.getHost()));
    }

    static boolean loopbackOrIpLiteral(String name) {
        return LOOPBACK_NAMES.contains(name) || IPV4.matcher(name).matches() || IPV6.matcher(name).matches();
    }

    /**
     * Whether a state-changing request made without credentials ({@code PICOTUNNEL_AUTH=none}) may go through.
     * A browser marks its requests with {@code Origin} or {@code Sec-Fetch-Site}: such a request must pass
     * {@link #sameOriginWrite} like a cookie write. A request with neither comes from a script or curl, which no
     * web page can make a browser send.
     */
    boolean anonymousWriteAllowed(Context ctx, String customHeader) {
        if (ctx.header("Origin") == null && ctx.header("Sec-Fetch-Site") == null) {
            return true;
        }
        return sameOriginWrite(ctx, customHeader);
    }

    /**
     * Whether a state-changing request made with the session cookie comes from our own pages: it must carry
     * the custom header (a cross-site page cannot add it without a CORS preflight, which we never allow),
     * its Origin, when sent, must be this server, and the browser must not call it cross-site.
     */
    boolean sameOriginWrite(Context ctx, String customHeader) {
        if (ctx.header(customHeader) == null) {
            return false;
        }
        String fetchSite = ctx.header("Sec-Fetch-Site");
        if (fetchSite != null && !fetchSite.equals("same-origin") && !fetchSite.equals("none")) {
            return false;
        }
        String origin = ctx.header("Origin");
        if (origin == null) {
            return true;
        }
        return originAuthority(origin).map(authority -> authority.equals(normalise(ctx.header("Host")))
                || (domain != null && hostName(authority).equals(domain))
                || (redirectUrl != null && authority.equals(normalise(redirectUrl.getRawAuthority())))).orElse(false);
    }

    private static Optional<String> originAuthority(String origin) {
        try {
            URI uri = URI.create(origin.trim());
            if (uri.getScheme() == null || uri.getRawAuthority() == null
                    || !(uri.getScheme().equalsIgnoreCase("http") || uri.getScheme().equalsIgnoreCase("https"))) {
                return Optional.empty();
            }
            return Optional.of(normalise(uri.getRawAuthority()));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    private static String normalise(String authority) {
        return authority == null ? "" : authority.trim().toLowerCase(Locale.ROOT);
    }

    /** The name part of a Host value: {@code example.com:8080} → {@code example.com}, {@code [::1]:80} → {@code ::1}. */
    static String hostName(String host) {
        String h = host.trim().toLowerCase(Locale.ROOT);
        if (h.startsWith("[")) {
            int end = h.indexOf(']');
            return end > 0 ? h.substring(1, end) : h;
        }
        int colon = h.indexOf(':');
        return colon >= 0 ? h.substring(0, colon) : h;
    }
}
