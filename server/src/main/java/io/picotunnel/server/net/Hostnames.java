package io.picotunnel.server.net;

import io.picotunnel.protocol.idna.Idna;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Syntax checks for host names, domains and IP literals (RFC 1123 labels; no DNS lookups), and the ASCII form of a
 * name beyond ASCII.
 */
public final class Hostnames {

    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", Pattern.CASE_INSENSITIVE);
    private static final Pattern IPV4 = Pattern.compile(
            "((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])");
    private static final Pattern IPV6_CHARS = Pattern.compile("[0-9a-fA-F:.]+");

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
        if (name == null || name.isEmpty() || name.length() > 253) {
            return false;
        }
        for (String label : name.split("\\.", -1)) {
            if (!LABEL.matcher(label).matches()) {
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
