package io.picotunnel.protocol.net;

import io.picotunnel.protocol.idna.Idna;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Syntax checks for host names, domains and IP literals (RFC 1123 labels; no DNS lookups), and the ASCII form of a
 * name beyond ASCII.
 */
public final class Hostnames {

    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", Pattern.CASE_INSENSITIVE);
    /** A label of a name a client dials: '_' allowed as Docker names it (my_app, project_web_1). */
    private static final Pattern TARGET_LABEL = Pattern.compile("[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?",
            Pattern.CASE_INSENSITIVE);
    private static final Pattern IPV4 = Pattern.compile(
            "((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])");
    private static final Pattern IPV6_CHARS = Pattern.compile("[0-9a-fA-F:.]+");

    private static final int MAX_NAME_LENGTH = 253;
    private static final int MAX_LABEL_LENGTH = 63;

    private Hostnames() {
    }

    /**
     * {@code name} (a host name, or {@code *.} and one) lower-case and in its ASCII form: labels beyond ASCII in
     * punycode as IDNA2008 gives them ({@code *.Bücher.example} is {@code *.xn--bcher-kva.example}), the one form
     * browsers send in Host and SNI and certificates name. Its syntax is left to {@link #isHostnameOrWildcard};
     * throws, saying why, for a name that cannot be converted.
     */
    public static String ascii(String name) {
        String wildcard = name.startsWith("*.") ? "*." : "";
        return wildcard + Idna.toAscii(name.substring(wildcard.length())).toLowerCase(Locale.ROOT);
    }

    /** A DNS name such as {@code localhost} or {@code app.example.com} (a trailing dot is not accepted). */
    public static boolean isHostname(String name) {
        return matches(name, LABEL);
    }

    /**
     * A name a client may dial: as {@link #isHostname}, and with {@code _} in its labels, as Docker and Compose name
     * containers and services ({@code my_app}, {@code project_web_1}) and their DNS and Go's resolver answer them.
     * Not for a name browsers or certificates take, where {@code _} is refused.
     */
    public static boolean isTargetName(String name) {
        return matches(name, TARGET_LABEL);
    }

    /**
     * Why {@code name} is not a name a client may dial ({@link #isTargetName}), as a fragment of a sentence for a
     * user ("its label '-app' starts or ends with '-'"); null when it is one.
     */
    public static String whyNotTargetName(String name) {
        if (name.isEmpty()) {
            return "it is empty";
        }
        if (name.length() > MAX_NAME_LENGTH) {
            return "it has " + name.length() + " characters, more than the " + MAX_NAME_LENGTH + " a host name may have";
        }
        for (String label : name.split("\\.", -1)) {
            String why = whyNotTargetLabel(label);
            if (why != null) {
                return why;
            }
        }
        return null;
    }

    private static String whyNotTargetLabel(String label) {
        if (label.isEmpty()) {
            return "it has an empty label (a dot at its start or end, or two dots in a row)";
        }
        for (int i = 0; i < label.length(); i++) {
            char c = label.charAt(i);
            if (!(c < 128 && (Character.isLetterOrDigit(c) || c == '-' || c == '_'))) {
                return "it has " + Idna.describe(label.codePointAt(i)) + ", which no host name may have";
            }
        }
        // After the characters: the start quoted here then has letters, digits, '-' and '_' only.
        if (label.length() > MAX_LABEL_LENGTH) {
            return "its label '" + label.substring(0, 20) + "…' has " + label.length() + " characters, more than the "
                    + MAX_LABEL_LENGTH + " a label may have";
        }
        if (label.startsWith("-") || label.endsWith("-")) {
            return "its label '" + label + "' starts or ends with '-'";
        }
        return null;
    }

    /** What to add to a refusal of {@code name} as a host name: why, when it has a '_'; else nothing. */
    public static String underscoreNote(String name) {
        return name != null && name.indexOf('_') >= 0
                ? "; '_' may be in a target's host name (a Docker name such as my_app:8080), not in a name browsers"
                + " and certificates take"
                : "";
    }

    private static boolean matches(String name, Pattern label) {
        if (name == null || name.isEmpty() || name.length() > MAX_NAME_LENGTH) {
            return false;
        }
        for (String part : name.split("\\.", -1)) {
            if (!label.matcher(part).matches()) {
                return false;
            }
        }
        return true;
    }

    /** A host name or {@code *.} followed by a host name (matching one label). */
    public static boolean isHostnameOrWildcard(String name) {
        if (name != null && name.startsWith("*.")) {
            return isHostname(name.substring(2));
        }
        return isHostname(name);
    }

    public static boolean isIpv4Literal(String host) {
        return host != null && IPV4.matcher(host).matches();
    }

    /** An IPv6 address as written inside brackets (no zone id). */
    public static boolean isIpv6Literal(String host) {
        if (host == null || !host.contains(":") || !IPV6_CHARS.matcher(host).matches()) {
            return false;
        }
        try {
            return java.net.InetAddress.getByName(host) instanceof java.net.Inet6Address;
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }
}
