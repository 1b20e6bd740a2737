package io.picotunnel.server.proxy.http;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;

import java.util.Iterator;
import java.util.List;

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
     * Tokens of Connection that remove no header through it. Keep-alive and upgrade, which Connection nearly always
     * names and {@link #ALWAYS} removes anyway: no name is made of them (the other names of ALWAYS are removed through
     * Connection when it names them, as they would be without). Connection itself, whose values are being read. Host
     * and Content-Length, where a request goes and how long a body is: not for the sender, visitor or target, to make
     * hop-by-hop. Transfer-Encoding goes either way, named or not: each side frames anew.
     */
    private static final AsciiString[] NOT_REMOVED_THROUGH_CONNECTION = {HttpHeaderValues.KEEP_ALIVE,
            HttpHeaderValues.UPGRADE, HttpHeaderNames.CONNECTION, HttpHeaderNames.HOST, HttpHeaderNames.CONTENT_LENGTH};

    private HopByHop() {
    }

    /**
     * Tells an HTTP/1.x visitor, in an answer whose status line says HTTP/1.1, whether its connection stays open:
     * {@code Connection: close} when not; {@code Connection: keep-alive} when it does and the request was HTTP/1.0,
     * whose client takes an answer without it for the connection's last (as nginx answers; Netty's
     * {@code HttpUtil.setKeepAlive} adds nothing to an HTTP/1.1 message); nothing for an HTTP/1.1 request.
     */
    static void tellKeepAlive(HttpResponse response, HttpVersion requestVersion, boolean keepAlive) {
        HttpHeaders headers = response.headers();
        if (!keepAlive) {
            headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        } else if (requestVersion.equals(HttpVersion.HTTP_1_0)) {
            headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        } else {
            headers.remove(HttpHeaderNames.CONNECTION);
        }
    }

    /** True when the message asks to switch protocols: an Upgrade header named in Connection. */
    static boolean isUpgrade(HttpHeaders headers) {
        return headers.contains(HttpHeaderNames.UPGRADE)
                && headers.containsValue(HttpHeaderNames.CONNECTION, HttpHeaderNames.UPGRADE, true);
    }

    /** Removes the hop-by-hop headers and every header the Connection header names. */
    static void strip(HttpHeaders headers) {
        strip(headers, null);
    }

    /** {@link #strip(HttpHeaders)}, and the headers named in {@code also} (when not null) in the same pass. */
    static void strip(HttpHeaders headers, HeaderNameSet also) {
        strip(headers, also, List.of());
    }

    /**
     * {@link #strip(HttpHeaders, HeaderNameSet)}, and the headers named by {@code connection} too: the Connection
     * values of the head, for its trailers.
     */
    static void strip(HttpHeaders headers, HeaderNameSet also, List<String> connection) {
        if (!connection.isEmpty()) {
            removeNamedIn(headers, connection.iterator());
        }
        if (headers.contains(HttpHeaderNames.CONNECTION)) {
            removeNamedIn(headers, headers.valueCharSequenceIterator(HttpHeaderNames.CONNECTION));
        }
        ALWAYS.removeFrom(headers, also);
    }

    /**
     * Removes each header the Connection values {@code connection} name as their tokens are read, in place: a name is
     * made a string only to remove a header that only Connection makes hop-by-hop, which keep-alive, close and upgrade
     * are not.
     */
    private static void removeNamedIn(HttpHeaders headers, Iterator<? extends CharSequence> connection) {
        while (connection.hasNext()) {
            CharSequence value = connection.next();
            int start = 0;
            for (int i = 0; i <= value.length(); i++) {
                if (i == value.length() || value.charAt(i) == ',') {
                    removeNamed(headers, value, start, i);
                    start = i + 1;
                }
            }
        }
    }

    /** Removes the header named by the token between {@code start} and {@code end} of {@code value}, blanks aside. */
    private static void removeNamed(HttpHeaders headers, CharSequence value, int start, int end) {
        while (start < end && value.charAt(start) <= ' ') {
            start++;
        }
        while (end > start && value.charAt(end - 1) <= ' ') {
            end--;
        }
        if (start == end) {
            return;
        }
        if (isToken(value, start, end, HttpHeaderValues.CLOSE)) {
            headers.remove(HttpHeaderValues.CLOSE); // an option, and a header too should the message have one
            return;
        }
        for (AsciiString kept : NOT_REMOVED_THROUGH_CONNECTION) {
            if (isToken(value, start, end, kept)) {
                return;
            }
        }
        headers.remove(value.subSequence(start, end));
    }

    private static boolean isToken(CharSequence value, int start, int end, AsciiString name) {
        return end - start == name.length() && AsciiString.regionMatches(value, true, start, name, 0, name.length());
    }
}
