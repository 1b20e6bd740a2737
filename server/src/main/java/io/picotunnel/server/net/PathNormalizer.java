package io.picotunnel.server.net;

import io.picotunnel.protocol.text.AsciiNumbers;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.function.IntPredicate;

/**
 * The path of a request target in normal form (RFC 3986 6.2.2), as routing compares it and the target receives it:
 * percent-encoded unreserved characters decoded ({@code /%61pi} is {@code /api}), the hex digits of the other
 * percent-encodings in upper case ({@code %2f} is {@code %2F}, which stays encoded: it is not a separator), and dot
 * segments removed ({@code /api/../x} is {@code /x}, never above the root). So a path prefix is a boundary: no
 * spelling of a path reaches another prefix's service. The characters browsers percent-encode in a path
 * ({@link #percentEncodeAsBrowsers}) are percent-encoded when a client sends them raw ({@code curl -g '/{id}'}), so
 * that the raw and the browser's spelling are one path.
 */
public final class PathNormalizer {

    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    private PathNormalizer() {
    }

    /**
     * {@code path} (starting with {@code /}, without query) as it came in a request, normalised; null when a
     * percent-encoding is invalid. Its characters up to U+00FF are octets as the HTTP codecs read them (raw UTF-8
     * arrives as one character per byte).
     */
    public static String normalize(String path) {
        String decoded = decodeUnreserved(percentEncode(path, true, PathNormalizer::browsersEncode));
        return decoded == null ? null : removeDotSegments(decoded);
    }

    /**
     * Whether {@link #normalize} would give back the first {@code end} characters of {@code target} as they are (so
     * that the proxy need not cut them out to find so): a path that starts with {@code /}, without a character to
     * percent-encode, without any percent-encoding (to be read) and without a {@code .} or {@code ..} segment. False
     * may also be said of a path already normal ({@code /%2F}): normalize it to know.
     */
    public static boolean isNormal(String target, int end) {
        if (end == 0 || target.charAt(0) != '/') {
            return false;
        }
        for (int i = 0; i < end; i++) {
            char c = target.charAt(i);
            boolean dotSegment = c == '.' && target.charAt(i - 1) == '/' && endsDotSegment(target, i + 1, end);
            if (c == '%' || browsersEncode(c) || dotSegment) {
                return false;
            }
        }
        return true;
    }

    /** Whether a segment whose first character was a dot ends at {@code i}, after one more dot or none. */
    private static boolean endsDotSegment(String target, int i, int end) {
        int next = i < end && target.charAt(i) == '.' ? i + 1 : i;
        return next == end || target.charAt(next) == '/';
    }

    /**
     * Whether {@link #encodeQueryOctets} would give back the characters of {@code target} from {@code start} on as
     * they are: none is outside ASCII.
     */
    public static boolean isQueryEncodedFrom(String target, int start) {
        for (int i = start; i < target.length(); i++) {
            if (target.charAt(i) > 0x7E) {
                return false;
            }
        }
        return true;
    }

    /**
     * {@code text} with the characters browsers percent-encode in a path (the WHATWG path percent-encode set without
     * the C0 controls, {@code ?} and {@code #}: space, {@code " < > ^ ` { }}, DEL and everything outside ASCII)
     * percent-encoded as UTF-8 with upper-case hex: {@code /café} is {@code /caf%C3%A9}, {@code /{id}} is
     * {@code /%7Bid%7D}. For text typed by an operator (a {@code path_prefix}), not for a request's octets.
     */
    public static String percentEncodeAsBrowsers(String text) {
        return percentEncode(text, false, PathNormalizer::browsersEncode);
    }

    /**
     * A request's query (its octets as the HTTP codecs read them, one character per byte) with the octets outside
     * ASCII percent-encoded: passed on raw they would be written to the target as UTF-8 of each byte
     * ({@code ?q=café} would reach it as {@code ?q=cafÃ©}). What ASCII holds stays as the client sent it.
     */
    public static String encodeQueryOctets(String query) {
        return percentEncode(query, true, c -> c > 0x7E);
    }

    /** Whether browsers percent-encode {@code c} in a path (see {@link #percentEncodeAsBrowsers}). */
    private static boolean browsersEncode(int c) {
        return c > 0x7E || " \"<>^`{}".indexOf(c) >= 0;
    }

    private static String percentEncode(String text, boolean octets, IntPredicate encoded) {
        int first = 0;
        while (first < text.length() && !encoded.test(text.charAt(first))) {
            first++;
        }
        if (first == text.length()) {
            return text;
        }
        StringBuilder b = new StringBuilder(text.length() * 3).append(text, 0, first);
        text.substring(first).codePoints().forEach(c -> {
            if (!encoded.test(c)) {
                b.append((char) c);
            } else if (octets && c <= 0xFF) {
                appendEncoded(b, c);
            } else {
                for (byte octet : Character.toString(c).getBytes(StandardCharsets.UTF_8)) {
                    appendEncoded(b, octet & 0xFF);
                }
            }
        });
        return b.toString();
    }

    private static void appendEncoded(StringBuilder b, int octet) {
        b.append('%').append(HEX[octet >> 4]).append(HEX[octet & 0xF]);
    }

    /**
     * A service's {@code path_prefix} as routing compares it: in normal form and without trailing slashes
     * ({@code /%61pi/} is {@code /api}). Two prefixes of one domain with the same such form are the same route. A
     * prefix stored before the API percent-encoded as browsers do ({@code /café}, {@code /{id}}) is read as its
     * encoding, so it matches what browsers send.
     */
    public static String normalizePrefix(String prefix) {
        if (prefix == null || prefix.isEmpty()) {
            return "/";
        }
        String normal = prefix.startsWith("/") ? normalize(percentEncodeAsBrowsers(prefix)) : null;
        return withoutTrailingSlashes(normal == null ? prefix : normal);
    }

    /** {@code /api//} is {@code /api}; {@code /} stays. */
    public static String withoutTrailingSlashes(String prefix) {
        String p = prefix;
        while (p.length() > 1 && p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        return p;
    }

    private static String decodeUnreserved(String path) {
        if (path.indexOf('%') < 0) {
            return path;
        }
        StringBuilder b = new StringBuilder(path.length());
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c != '%') {
                b.append(c);
                continue;
            }
            if (i + 2 >= path.length()) {
                return null;
            }
            int high = AsciiNumbers.hexDigit(path.charAt(i + 1));
            int low = AsciiNumbers.hexDigit(path.charAt(i + 2));
            if (high < 0 || low < 0) {
                return null;
            }
            char decoded = (char) (high * 16 + low);
            if (isUnreserved(decoded)) {
                b.append(decoded);
            } else {
                b.append('%').append(Character.toUpperCase(path.charAt(i + 1))).append(Character.toUpperCase(path.charAt(i + 2)));
            }
            i += 2;
        }
        return b.toString();
    }

    private static boolean isUnreserved(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                || c == '-' || c == '.' || c == '_' || c == '~';
    }

    /** RFC 3986 5.2.4 for an absolute path: {@code .} and {@code ..} segments go, a trailing one leaves a slash. */
    public static String removeDotSegments(String path) {
        if (path.indexOf('.') < 0) {
            return path;
        }
        String[] segments = path.split("/", -1);
        Deque<String> out = new ArrayDeque<>();
        for (int i = 1; i < segments.length; i++) {
            String segment = segments[i];
            boolean last = i == segments.length - 1;
            if (segment.equals(".")) {
                if (last) {
                    out.addLast("");
                }
            } else if (segment.equals("..")) {
                out.pollLast();
                if (last) {
                    out.addLast("");
                }
            } else {
                out.addLast(segment);
            }
        }
        return "/" + String.join("/", out);
    }
}
