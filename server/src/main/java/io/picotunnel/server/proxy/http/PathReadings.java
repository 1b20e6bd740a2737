package io.picotunnel.server.proxy.http;

import io.picotunnel.server.net.PathNormalizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * The ways targets read a request path more loosely than the proxy routes it. The proxy routes the path in normal
 * form ({@link PathNormalizer}); a target framework may also ignore letter case (Express, IIS), drop
 * {@code ;parameters} from segments (Tomcat, Spring), decode {@code %2F} into a separator (CGI, WSGI, older Go),
 * decode a second time ({@code %252F}), accept overlong UTF-8 ({@code %C0%AF} as {@code /}: old IIS, some C
 * decoders), take {@code \} for {@code /} (IIS), cut the path at a decoded NUL (C strings), drop trailing dots and
 * spaces of a segment (IIS, Windows file names), or collapse empty segments and resolve the dot segments such steps
 * uncover (nginx, Go). Each step may or may not apply, in this order; a reading applies the same steps to the path
 * and to the services' prefixes, as the target would see both.
 */
final class PathReadings {

    /** The request path and the candidate services' path prefixes, as one reading sees them. */
    record Reading(String path, List<String> prefixes) {

        private Reading apply(UnaryOperator<String> step) {
            return new Reading(step.apply(path), prefixes.stream().map(step).toList());
        }
    }

    private static final List<UnaryOperator<String>> STEPS = List.of(
            PathReadings::stripParameters, // before decoding, as Tomcat does
            PathReadings::decode,
            PathReadings::decode, // again: %252F
            path -> path.replace('\\', '/'),
            PathReadings::stripParameters, // after decoding: %3B
            PathReadings::cutAtNul,
            PathReadings::trimSegmentEnds,
            PathReadings::collapseSlashes,
            PathNormalizer::removeDotSegments,
            path -> path.toLowerCase(Locale.ROOT));

    /**
     * The most distinct readings tried. A path has at most 2^n readings when n of the steps change it; an ordinary
     * path changes by two or three (case, {@code ;jsessionid}, one percent-encoding), one changed by nine or more at
     * once is made to be read many ways: it is not read further, and counts as ambiguous.
     */
    static final int MAX_READINGS = 256;

    /**
     * The most characters read for one path: every step applied to a reading reads its path and prefixes once (and
     * the set compares them once more). 256 readings of a path of 8 KiB would be some 20 million; an ordinary path,
     * even one of 8 KiB with a few readings, stays well under this. A path that needs more is not read further, and
     * counts as ambiguous.
     */
    static final long MAX_CHARACTERS = 1 << 20;

    /** The characters read so far for one path, against {@link #MAX_CHARACTERS}. */
    static final class Work {
        private long characters;

        long characters() {
            return characters;
        }

        /** Whether {@code reading} may be read once more; if so, counts it. */
        private boolean read(Reading reading) {
            long cost = reading.path().length();
            for (String prefix : reading.prefixes()) {
                cost += prefix.length();
            }
            if (characters + cost > MAX_CHARACTERS) {
                return false;
            }
            characters += cost;
            return true;
        }
    }

    private PathReadings() {
    }

    /**
     * Every distinct reading of {@code path} (in normal form) and {@code prefixes}, the proxy's own among them: one
     * or two for a plain path; empty when there are more than {@link #MAX_READINGS}, or when finding them would read
     * more than {@link #MAX_CHARACTERS}, so that no path costs more than that.
     */
    static Optional<Set<Reading>> of(String path, List<String> prefixes) {
        return of(path, prefixes, new Work());
    }

    static Optional<Set<Reading>> of(String path, List<String> prefixes, Work work) {
        Set<Reading> readings = new LinkedHashSet<>();
        readings.add(new Reading(path, prefixes));
        for (UnaryOperator<String> step : STEPS) {
            for (Reading reading : List.copyOf(readings)) {
                if (!work.read(reading)) {
                    return Optional.empty();
                }
                readings.add(reading.apply(step));
                if (readings.size() > MAX_READINGS) {
                    return Optional.empty();
                }
            }
        }
        return Optional.of(readings);
    }

    /** {@code /a;x=1/b;y} is {@code /a/b}. */
    static String stripParameters(String path) {
        if (path.indexOf(';') < 0) {
            return path;
        }
        StringBuilder b = new StringBuilder(path.length());
        boolean inParameters = false;
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c == '/') {
                inParameters = false;
            } else if (c == ';') {
                inParameters = true;
            }
            if (!inParameters) {
                b.append(c);
            }
        }
        return b.toString();
    }

    /**
     * Every percent-encoding decoded, as UTF-8 that may be overlong ({@code %C0%AF} is {@code /}, {@code %C0%AE} is
     * {@code .}); an invalid percent-encoding stays as it is, other invalid UTF-8 is U+FFFD.
     */
    static String decode(String path) {
        if (path.indexOf('%') < 0) {
            return path;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(path.length());
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            // Character.digit, not AsciiNumbers: a reading is what some target may make of the path, and Java's
            // URLDecoder up to Java 21 reads "%٤١" (its second decoding of "%25%D9%A4%D9%A1") as "A".
            int high = c == '%' && i + 2 < path.length() ? Character.digit(path.charAt(i + 1), 16) : -1;
            int low = high < 0 ? -1 : Character.digit(path.charAt(i + 2), 16);
            if (low >= 0) {
                bytes.write(high * 16 + low);
                i += 2;
            } else {
                int codePoint = path.codePointAt(i);
                bytes.writeBytes(Character.toString(codePoint).getBytes(StandardCharsets.UTF_8));
                i += Character.charCount(codePoint) - 1;
            }
        }
        return utf8AllowingOverlong(bytes.toByteArray());
    }

    private static String utf8AllowingOverlong(byte[] bytes) {
        StringBuilder b = new StringBuilder(bytes.length);
        for (int i = 0; i < bytes.length; i++) {
            int lead = bytes[i] & 0xFF;
            int length = lead < 0x80 ? 1 : lead < 0xC0 ? 0 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : lead < 0xF8 ? 4 : 0;
            int codePoint = length == 1 ? lead : length == 0 ? -1 : lead & (0x7F >> length);
            for (int k = 1; k < length && codePoint >= 0; k++) {
                int next = i + k < bytes.length ? bytes[i + k] & 0xFF : 0;
                codePoint = (next & 0xC0) == 0x80 ? codePoint << 6 | next & 0x3F : -1;
            }
            if (codePoint < 0 || codePoint > Character.MAX_CODE_POINT
                    || (codePoint >= Character.MIN_SURROGATE && codePoint <= Character.MAX_SURROGATE)) {
                b.append('\uFFFD');
            } else {
                b.appendCodePoint(codePoint);
                i += length - 1;
            }
        }
        return b.toString();
    }

    /** {@code /admin\0.html} is {@code /admin}, as a C string ends at the NUL. */
    static String cutAtNul(String path) {
        int nul = path.indexOf('\0');
        return nul < 0 ? path : path.substring(0, nul);
    }

    /**
     * {@code /admin. /x} is {@code /admin/x}, as Windows names drop trailing dots and spaces; {@code .} and
     * {@code ..} (after their trailing spaces) stay dot segments.
     */
    static String trimSegmentEnds(String path) {
        if (!path.contains("./") && !path.contains(" /") && !path.endsWith(".") && !path.endsWith(" ")) {
            return path;
        }
        String[] segments = path.split("/", -1);
        for (int i = 0; i < segments.length; i++) {
            String segment = strip(segments[i], " ");
            segments[i] = segment.equals(".") || segment.equals("..") ? segment : strip(segment, ". ");
        }
        return String.join("/", segments);
    }

    private static String strip(String segment, String trailing) {
        int end = segment.length();
        while (end > 0 && trailing.indexOf(segment.charAt(end - 1)) >= 0) {
            end--;
        }
        return segment.substring(0, end);
    }

    /** {@code //a///b} is {@code /a/b}. */
    static String collapseSlashes(String path) {
        if (!path.contains("//")) {
            return path;
        }
        StringBuilder b = new StringBuilder(path.length());
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c != '/' || b.isEmpty() || b.charAt(b.length() - 1) != '/') {
                b.append(c);
            }
        }
        return b.toString();
    }
}
