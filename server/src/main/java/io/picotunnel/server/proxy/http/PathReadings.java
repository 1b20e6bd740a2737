package io.picotunnel.server.proxy.http;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * The ways targets read a request path more loosely than the proxy routes it. The proxy routes the path in normal
 * form ({@link PathNormalizer}); a target framework may also ignore letter case (Express, IIS), drop
 * {@code ;parameters} from segments (Tomcat, Spring), decode {@code %2F} into a separator (CGI, WSGI, older Go),
 * take {@code \} for {@code /} (IIS), or collapse empty segments and resolve the dot segments such steps uncover
 * (nginx, Go). Each step may or may not apply, in this order; a reading applies the same steps to the path and to
 * the services' prefixes, as the target would see both.
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
            path -> path.replace('\\', '/'),
            PathReadings::stripParameters, // after decoding: %3B
            PathReadings::collapseSlashes,
            PathNormalizer::removeDotSegments,
            path -> path.toLowerCase(Locale.ROOT));

    private PathReadings() {
    }

    /**
     * Every distinct reading of {@code path} (in normal form) and {@code prefixes}, the proxy's own among them: at
     * most 2^7, and one or two for a plain path.
     */
    static Set<Reading> of(String path, List<String> prefixes) {
        Set<Reading> readings = new LinkedHashSet<>();
        readings.add(new Reading(path, prefixes));
        for (UnaryOperator<String> step : STEPS) {
            for (Reading reading : List.copyOf(readings)) {
                readings.add(reading.apply(step));
            }
        }
        return readings;
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

    /** Every percent-encoding decoded, as UTF-8; an invalid one stays as it is. */
    static String decode(String path) {
        if (path.indexOf('%') < 0) {
            return path;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(path.length());
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
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
        return bytes.toString(StandardCharsets.UTF_8);
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
