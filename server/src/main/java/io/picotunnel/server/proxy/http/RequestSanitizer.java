package io.picotunnel.server.proxy.http;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.picotunnel.server.access.AccessControl;
import io.picotunnel.server.net.PathNormalizer;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * What the proxy makes of a request before routing it, so that what is routed is what the target receives:
 * <ul>
 *   <li>one Host header at most (two are a 400); an absolute-form target ({@code GET http://a.test/x}) becomes
 *       origin form with its authority as the Host header (RFC 9112 3.2.2);</li>
 *   <li>the path normalised ({@link PathNormalizer}) before prefix matching, and sent on so;</li>
 *   <li>forwarding headers the client sent and the proxy does not set itself are dropped
 *       ({@link #FORWARDING}, removed with the hop-by-hop headers by
 *       {@link HopByHop#strip(HttpHeaders, HeaderNameSet)}), and an {@code h2c} upgrade is never passed on
 *       ({@link #upgradeToForward});</li>
 *   <li>its trailers lose every field the proxy controls in the head ({@link #stripTrailers}).</li>
 * </ul>
 */
final class RequestSanitizer {

    /** {@link #FORWARDING} without its prefix: the names it holds whole. */
    private static final List<String> FORWARDING_NAMES = List.of(
            "forwarded", "x-real-ip", "x-original-url", "x-rewrite-url", "x-original-uri", "x-original-host",
            "x-original-forwarded-for", "x-host", "true-client-ip", "x-client-ip", "client-ip", "cf-connecting-ip",
            "cf-connecting-ipv6", "fastly-client-ip", "x-cluster-client-ip", "x-proxyuser-ip", "x-envoy-external-address",
            "x-envoy-original-path", "x-appengine-user-ip", "akamai-origin-hop", "via-client-ip",
            // HTTP/2 settings of an h2c upgrade, never passed on
            "http2-settings");
    private static final String FORWARDING_PREFIX = "x-forwarded-";

    /**
     * Headers by which a proxy in front tells a target who the client is or what it asked for. Whatever the client
     * put there would be believed by some target; the proxy sets X-Forwarded-For, -Host, -Proto and X-Real-IP
     * itself and drops all others.
     */
    static final HeaderNameSet FORWARDING = HeaderNameSet.of(FORWARDING_NAMES, FORWARDING_PREFIX);

    /**
     * Every field the proxy takes out of a request's trailers besides the hop-by-hop ones ({@link HopByHop}, with those
     * a Connection names): one list, so that no field the proxy controls in the head can come back in a trailer to a
     * target that merges trailers into the headers (Apache httpd's MergeTrailers) after the proxy's checks. The
     * forwarding ({@link #FORWARDING}) and identity headers ({@link AccessControl#IDENTITY_HEADERS}), which only the
     * proxy sets; the fields RFC 9110 6.5.1 keeps out of trailers: how the message is framed, where it goes, who sends
     * it, how it is to be answered and what its content is; Origin and Sec-Fetch-*, which the gate checks in the head;
     * and the method overrides, which frameworks take for the request's method (kept in the head, where the request's
     * sender chose them as it chose the method: the proxy grants nothing by method). Not Content-Digest or Repr-Digest,
     * made to go in trailers (RFC 9530).
     */
    static final HeaderNameSet NOT_IN_TRAILERS = HeaderNameSet.of(Stream.of(FORWARDING_NAMES,
            AccessControl.IDENTITY_HEADERS, List.of(
            // framing and routing
            "content-length", "transfer-encoding", "trailer", "host", "max-forwards", "expect", "te",
            // authentication and cookies
            "authorization", "proxy-authorization", "cookie", "set-cookie", "www-authenticate", "proxy-authenticate",
            // request modifiers: controls and conditionals
            "cache-control", "pragma", "range", "if-match", "if-none-match", "if-modified-since", "if-unmodified-since",
            "if-range",
            // response control data
            "age", "date", "expires", "location", "retry-after", "vary",
            // the content's format
            "content-type", "content-encoding", "content-range", "content-language", "content-location",
            // what the gate reads from the head
            "origin", "sec-fetch-site", "sec-fetch-mode", "sec-fetch-dest", "sec-fetch-user",
            // the method, as frameworks that honour an override read it (Rack, Symfony, ASP.NET Core, ...)
            "x-http-method-override", "x-http-method", "x-method-override")).flatMap(List::stream).toList(),
            FORWARDING_PREFIX);

    /**
     * Takes out of a request's trailers every field {@link #NOT_IN_TRAILERS} and {@link HopByHop} name, those the
     * trailers' Connection names and those {@code headConnection}, the head's Connection values, names: they name
     * trailer fields as well as header fields (RFC 9110 7.6.1). HTTP/1.1's chunked trailers and HTTP/2's trailing
     * HEADERS both come here, as the request's last content.
     */
    static void stripTrailers(HttpHeaders trailers, List<String> headConnection) {
        if (!trailers.isEmpty()) {
            HopByHop.strip(trailers, NOT_IN_TRAILERS, headConnection);
        }
    }

    private RequestSanitizer() {
    }

    /**
     * Checks and rewrites {@code request} in place (Host and target); null when it may be routed, else why it is
     * a bad request.
     */
    static String sanitize(HttpRequest request) {
        HttpHeaders headers = request.headers();
        if (hasSecondValue(headers.valueCharSequenceIterator(HttpHeaderNames.HOST))) {
            return "The request has more than one Host header.";
        }
        String uri = request.uri();
        if (uri.equals("*")) {
            return null;
        }
        if (!uri.startsWith("/")) {
            String authority = authorityOf(uri);
            if (authority == null || authority.isEmpty()) {
                return "The request target names no host.";
            }
            headers.set(HttpHeaderNames.HOST, authority);
            uri = RequestTarget.originForm(uri);
        }
        String host = headers.get(HttpHeaderNames.HOST);
        if (host != null && !isAuthority(host.trim())) {
            return "The Host header is not a host name or address with an optional port.";
        }
        int end = uri.length();
        int query = uri.indexOf('?');
        int fragment = uri.indexOf('#');
        if (fragment >= 0) {
            // Never sent by clients; it has no meaning to a server.
            end = fragment;
        }
        if (query >= 0 && query < end) {
            end = query;
        }
        String target;
        if (fragment < 0 && PathNormalizer.isNormal(uri, end) && PathNormalizer.isQueryEncodedFrom(uri, end)) {
            target = uri; // most targets are normal already, with a query or without: no string made for them
        } else {
            String path = PathNormalizer.normalize(uri.substring(0, end));
            if (path == null) {
                return "The request path has an invalid percent-encoding.";
            }
            String rest = PathNormalizer.encodeQueryOctets(uri.substring(end, fragment >= 0 ? fragment : uri.length()));
            target = rest.isEmpty() ? path : path + rest;
        }
        if (!target.equals(request.uri())) {
            request.setUri(target);
        }
        return null;
    }

    private static boolean hasSecondValue(Iterator<? extends CharSequence> values) {
        if (!values.hasNext()) {
            return false;
        }
        values.next();
        return values.hasNext();
    }

    /**
     * Whether {@code host} has only the characters of an authority without user info (RFC 3986: a reg-name, an IP
     * literal in brackets, a port): no '/', '?', '#', '@', '\\', space or control character, which would make the
     * route, the redirect's Location or the target's Host read another host than the one matched.
     */
    static boolean isAuthority(String host) {
        for (int i = 0; i < host.length(); i++) {
            char c = host.charAt(i);
            boolean ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
                    || "-._~!$&'()*+,;=%:[]".indexOf(c) >= 0;
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    /** Authority of an absolute-form target, without user info; null when there is no {@code ://}. */
    private static String authorityOf(String uri) {
        int scheme = uri.indexOf("://");
        if (scheme <= 0) {
            return null;
        }
        int start = scheme + 3;
        int end = start;
        while (end < uri.length() && "/?#".indexOf(uri.charAt(end)) < 0) {
            end++;
        }
        String authority = uri.substring(start, end);
        int at = authority.lastIndexOf('@');
        return at >= 0 ? authority.substring(at + 1) : authority;
    }

    /**
     * The protocols of an HTTP/1.1 upgrade request to pass on to the target, or null when there is none: the
     * {@code Upgrade} tokens without {@code h2c}, which the target would speak to the proxy's client codec. An HTTP/1.0
     * request has none: a server must ignore its {@code Upgrade} (RFC 9110 7.8), so it goes on without one.
     */
    static String upgradeToForward(HttpRequest request) {
        HttpHeaders headers = request.headers();
        if (request.protocolVersion().equals(HttpVersion.HTTP_1_0) || !HopByHop.isUpgrade(headers)) {
            return null;
        }
        List<String> kept = new ArrayList<>();
        for (String value : headers.getAll(HttpHeaderNames.UPGRADE)) {
            for (String token : value.split(",")) {
                String t = token.trim();
                if (!t.isEmpty() && !t.toLowerCase(Locale.ROOT).startsWith("h2c")) {
                    kept.add(t);
                }
            }
        }
        return kept.isEmpty() ? null : String.join(", ", kept);
    }
}
