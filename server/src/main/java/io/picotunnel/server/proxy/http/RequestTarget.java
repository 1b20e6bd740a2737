package io.picotunnel.server.proxy.http;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;

/** The request target (RFC 9112 3.2) as the proxy reads it: origin form, path, and the host it names. */
final class RequestTarget {

    private RequestTarget() {
    }

    /** Host of an absolute-form request target, else the Host header; null when there is none. */
    static String hostOf(HttpRequest request) {
        String uri = request.uri();
        int scheme = uri.indexOf("://");
        if (!uri.startsWith("/") && scheme > 0) {
            int start = scheme + 3;
            int end = start;
            while (end < uri.length() && "/?#".indexOf(uri.charAt(end)) < 0) {
                end++;
            }
            return uri.substring(start, end);
        }
        String host = request.headers().get(HttpHeaderNames.HOST);
        return host == null || host.isBlank() ? null : host.trim();
    }

    /** The request target in origin form: path and query, without scheme and authority. */
    static String originForm(String uri) {
        if (uri.startsWith("/")) {
            return uri;
        }
        int scheme = uri.indexOf("://");
        if (scheme > 0) {
            int slash = uri.indexOf('/', scheme + 3);
            int query = uri.indexOf('?', scheme + 3);
            if (slash < 0 || (query >= 0 && query < slash)) {
                return query < 0 ? "/" : "/" + uri.substring(query);
            }
            return uri.substring(slash);
        }
        return "/";
    }

    /** The path alone: origin form without query and fragment. */
    static String pathOf(String uri) {
        String origin = originForm(uri);
        int end = origin.length();
        int query = origin.indexOf('?');
        int fragment = origin.indexOf('#');
        if (query >= 0) {
            end = query;
        }
        if (fragment >= 0 && fragment < end) {
            end = fragment;
        }
        return origin.substring(0, end);
    }
}
