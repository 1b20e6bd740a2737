package io.picotunnel.server.proxy.http;

import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;

/**
 * The words of a target's response head that nearly every response repeats (its version, the common status codes and
 * reason phrases, the common header names), each made once: the decoder otherwise makes a string of each, per
 * response. A word is only ever given for the very bytes the target sent, letter case included, so the head goes on to
 * the visitor byte for byte as before; any other spelling is made anew, as Netty does.
 */
final class ResponseHeadWords {

    /** Header names as servers spell them: nginx, Apache and Go's net/http in title case, HTTP/2-minded ones lower. */
    private static final List<String> NAMES = List.of("Server", "Date", "Content-Type", "Content-Length", "Connection",
            "Keep-Alive", "Transfer-Encoding", "Cache-Control", "ETag", "Last-Modified", "Vary", "Set-Cookie", "Location",
            "Content-Encoding", "Accept-Ranges", "Expires", "Access-Control-Allow-Origin", "X-Content-Type-Options",
            "X-Frame-Options", "Strict-Transport-Security", "Content-Security-Policy", "Referrer-Policy", "Pragma", "Age",
            "X-Powered-By");
    private static final AsciiString[][] NAMES_BY_LENGTH = byLength(names());
    private static final AsciiString[][] REASONS_BY_LENGTH = byLength(IntStream.of(100, 101, 200, 201, 202, 204, 206,
                    301, 302, 303, 304, 307, 308, 400, 401, 403, 404, 405, 408, 409, 410, 413, 429, 500, 502, 503, 504)
            .mapToObj(code -> new AsciiString(HttpResponseStatus.valueOf(code).reasonPhrase())).toList());
    private static final String HTTP_1_1 = HttpVersion.HTTP_1_1.text();
    private static final AsciiString HTTP_1_1_BYTES = new AsciiString(HTTP_1_1);
    private static final String[] CODES = IntStream.range(100, 600).mapToObj(Integer::toString).toArray(String[]::new);

    private ResponseHeadWords() {
    }

    /** The header name of {@code length} bytes at {@code start}, shared when it is a common one; else null. */
    static AsciiString name(byte[] bytes, int start, int length) {
        return find(NAMES_BY_LENGTH, bytes, start, length);
    }

    /** The protocol version, {@code HTTP/1.1} shared; else null. */
    static String version(byte[] bytes, int start, int length) {
        return HTTP_1_1_BYTES.length() == length && equal(HTTP_1_1_BYTES, bytes, start) ? HTTP_1_1 : null;
    }

    /** The status code when it is three digits from 100 to 599, shared; else null. */
    static String code(byte[] bytes, int start, int length) {
        if (length != 3) {
            return null;
        }
        int code = 0;
        for (int i = start; i < start + 3; i++) {
            int digit = bytes[i] - '0';
            if (digit < 0 || digit > 9) {
                return null;
            }
            code = code * 10 + digit;
        }
        return code >= 100 && code < 600 ? CODES[code - 100] : null;
    }

    /** The reason phrase when it is a common status's own, shared; else null. */
    static String reason(byte[] bytes, int start, int length) {
        AsciiString reason = find(REASONS_BY_LENGTH, bytes, start, length);
        return reason == null ? null : reason.toString();
    }

    private static List<AsciiString> names() {
        List<AsciiString> names = new ArrayList<>();
        for (String name : NAMES) {
            names.add(new AsciiString(name));
            names.add(new AsciiString(name.toLowerCase(Locale.ROOT)));
        }
        return names;
    }

    private static AsciiString[][] byLength(List<AsciiString> words) {
        int longest = words.stream().mapToInt(AsciiString::length).max().orElse(0);
        AsciiString[][] table = new AsciiString[longest + 1][];
        for (int length = 0; length <= longest; length++) {
            int l = length;
            table[length] = words.stream().filter(word -> word.length() == l).distinct().toArray(AsciiString[]::new);
        }
        return table;
    }

    private static AsciiString find(AsciiString[][] table, byte[] bytes, int start, int length) {
        if (length >= table.length) {
            return null;
        }
        for (AsciiString word : table[length]) {
            if (equal(word, bytes, start)) {
                return word;
            }
        }
        return null;
    }

    /** Whether {@code bytes} from {@code start} hold {@code word}'s bytes, exactly. */
    private static boolean equal(AsciiString word, byte[] bytes, int start) {
        byte[] array = word.array();
        int offset = word.arrayOffset();
        for (int i = 0; i < word.length(); i++) {
            if (array[offset + i] != bytes[start + i]) {
                return false;
            }
        }
        return true;
    }
}
