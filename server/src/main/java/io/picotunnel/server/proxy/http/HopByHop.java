package io.picotunnel.server.proxy.http;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;

import java.util.ArrayList;
import java.util.Iterator;
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
    /**
     * What Connection says nearly always: names {@link #ALWAYS} removes anyway, and the framing and routing headers
     * never removed through it ({@link #strip}).
     */
    private static final AsciiString[] COMMON_TOKENS = {HttpHeaderValues.KEEP_ALIVE, HttpHeaderValues.UPGRADE,
            HttpHeaderNames.HOST, HttpHeaderNames.CONTENT_LENGTH};

    private HopByHop() {
    }

    /** True when the message asks to switch protocols: an Upgrade header named in Connection. */
    static boolean isUpgrade(HttpHeaders headers) {
        return headers.contains(HttpHeaderNames.UPGRADE)
                && connectionTokens(headers).contains(HttpHeaderNames.UPGRADE.toString());
    }

    /** Removes the hop-by-hop headers and every header the Connection header names. */
    static void strip(HttpHeaders headers) {
        if (headers.contains(HttpHeaderNames.CONNECTION) && namesOtherHeaders(headers)) {
            for (String token : connectionTokens(headers)) {
                // Framing and routing headers are not the client's to remove through Connection.
                if (!token.equals("host") && !token.equals("content-length")) {
                    headers.remove(token);
                }
            }
        }
        ALWAYS.removeFrom(headers);
    }

    /**
     * Whether Connection names a header that only it makes hop-by-hop. Looked at in place: the tokens are made (for
     * each message passed on) only when it does, which keep-alive, close and upgrade do not.
     */
    private static boolean namesOtherHeaders(HttpHeaders headers) {
        for (Iterator<? extends CharSequence> it = headers.valueCharSequenceIterator(HttpHeaderNames.CONNECTION);
                it.hasNext(); ) {
            CharSequence value = it.next();
            int start = 0;
            for (int i = 0; i <= value.length(); i++) {
                if (i == value.length() || value.charAt(i) == ',') {
                    if (namesOtherHeader(headers, value, start, i)) {
                        return true;
                    }
                    start = i + 1;
                }
            }
        }
        return false;
    }

    private static boolean namesOtherHeader(HttpHeaders headers, CharSequence value, int start, int end) {
        while (start < end && value.charAt(start) <= ' ') {
            start++;
        }
        while (end > start && value.charAt(end - 1) <= ' ') {
            end--;
        }
        if (start == end) {
            return false;
        }
        if (isToken(value, start, end, HttpHeaderValues.CLOSE)) {
            return headers.contains(HttpHeaderValues.CLOSE); // an option, and a header only if the message has one
        }
        for (AsciiString common : COMMON_TOKENS) {
            if (isToken(value, start, end, common)) {
                return false;
            }
        }
        return true;
    }

    private static boolean isToken(CharSequence value, int start, int end, AsciiString name) {
        return end - start == name.length() && AsciiString.regionMatches(value, true, start, name, 0, name.length());
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
