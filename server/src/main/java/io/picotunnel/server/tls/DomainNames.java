package io.picotunnel.server.tls;

import io.picotunnel.protocol.net.Hostnames;

import java.util.Locale;

/** Host names as TLS sees them: lower case, no trailing dot; a wildcard covers exactly one label. */
public final class DomainNames {

    private DomainNames() {
    }

    /** Lower case without a trailing dot, or null for null or blank. */
    public static String normalize(String name) {
        if (name == null) {
            return null;
        }
        String n = name.strip().toLowerCase(Locale.ROOT);
        if (n.endsWith(".")) {
            n = n.substring(0, n.length() - 1);
        }
        return n.isEmpty() ? null : n;
    }

    /** {@code *.example.com} for {@code a.example.com}; null when the name has no parent to wildcard. */
    public static String wildcardOf(String name) {
        int dot = name.indexOf('.');
        if (dot <= 0 || dot == name.length() - 1 || name.indexOf('.', dot + 1) < 0) {
            return null;
        }
        return "*" + name.substring(dot);
    }

    public static boolean isWildcard(String name) {
        return name.startsWith("*.");
    }

    /**
     * The file name stem for a certificate name: {@code *.example.com} becomes {@code _.example.com},
     * because {@code *} is not allowed in Windows file names.
     */
    public static String fileStem(String name) {
        return isWildcard(name) ? "_" + name.substring(1) : name;
    }

    /**
     * The certificate name for a file name stem, the reverse of {@link #fileStem}. A stem beyond ASCII
     * ({@code bücher.example}) names its xn-- form, the one SNI carries and services are stored under; one that cannot
     * be converted stays as it is, and so names nothing clients ask for.
     */
    public static String fromFileStem(String stem) {
        String n = normalize(stem);
        if (n != null && n.startsWith("_.")) {
            n = "*" + n.substring(1);
        }
        if (n != null && !n.chars().allMatch(c -> c < 128)) {
            try {
                return Hostnames.ascii(n);
            } catch (IllegalArgumentException e) {
                return n;
            }
        }
        return n;
    }
}
