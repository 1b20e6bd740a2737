package io.picotunnel.server.net;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * The path of a request target in normal form (RFC 3986 6.2.2), as routing compares it and the target receives it:
 * percent-encoded unreserved characters decoded ({@code /%61pi} is {@code /api}), the hex digits of the other
 * percent-encodings in upper case ({@code %2f} is {@code %2F}, which stays encoded: it is not a separator), and dot
 * segments removed ({@code /api/../x} is {@code /x}, never above the root). So a path prefix is a boundary: no
 * spelling of a path reaches another prefix's service.
 */
public final class PathNormalizer {

    private PathNormalizer() {
    }

    /** {@code path} (starting with {@code /}, without query) normalised; null when a percent-encoding is invalid. */
    public static String normalize(String path) {
        String decoded = decodeUnreserved(path);
        return decoded == null ? null : removeDotSegments(decoded);
    }

    /**
     * A service's {@code path_prefix} as routing compares it: in normal form and without trailing slashes
     * ({@code /%61pi/} is {@code /api}). Two prefixes of one domain with the same such form are the same route.
     */
    public static String normalizePrefix(String prefix) {
        if (prefix == null || prefix.isEmpty()) {
            return "/";
        }
        String normal = prefix.startsWith("/") ? normalize(prefix) : null;
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
            int high = Character.digit(path.charAt(i + 1), 16);
            int low = Character.digit(path.charAt(i + 2), 16);
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
