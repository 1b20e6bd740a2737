package io.picotunnel.server.proxy.http;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Header rewriting at the proxy: hop-by-hop headers (RFC 9110 7.6.1) end here, each side frames anew. */
final class HopByHop {

    /** Hop-by-hop headers, and the pseudo-headers Netty's HTTP/2 conversion adds, which no target should see. */
    private static final HeaderNameSet ALWAYS = HeaderNameSet.of(List.of(
            HttpHeaderNames.CONNECTION,
            "keep-alive",
            "proxy-connection",
            HttpHeaderNames.PROXY_AUTHENTICATE,
            HttpHeaderNames.PROXY_AUTHORIZATION,
            HttpHeaderNames.TE,
            HttpHeaderNames.TRAILER,
            "trailers",
            HttpHeaderNames.TRANSFER_ENCODING,
            HttpHeaderNames.UPGRADE,
            "x-http2-stream-id",
            "x-http2-scheme",
            "x-http2-path",
            "x-http2-stream-promise-id",
            "x-http2-stream-dependency-id",
            "x-http2-stream-weight"));

    private HopByHop() {
    }

    /** True when the message asks to switch protocols: an Upgrade header named in Connection. */
    static boolean isUpgrade(HttpHeaders headers) {
        return headers.contains(HttpHeaderNames.UPGRADE)
                && connectionTokens(headers).contains(HttpHeaderNames.UPGRADE.toString());
    }

    /** Removes the hop-by-hop headers and every header the Connection header names. */
    static void strip(HttpHeaders headers) {
        if (headers.contains(HttpHeaderNames.CONNECTION)) {
            for (String token : connectionTokens(headers)) {
                // Framing and routing headers are not the client's to remove through Connection.
                if (!token.equals("host") && !token.equals("content-length")) {
                    headers.remove(token);
                }
            }
        }
        ALWAYS.removeFrom(headers);
    }

    private static List<String> connectionTokens(HttpHeaders headers) {
        List<String> tokens = new ArrayList<>();
        for (String value : headers.getAll(HttpHeaderNames.CONNECTION)) {
            for (String token : value.split(",")) {
                String t = token.trim().toLowerCase(Locale.ROOT);
                if (!t.isEmpty()) {
                    tokens.add(t);
                }
            }
        }
        return tokens;
    }
}
