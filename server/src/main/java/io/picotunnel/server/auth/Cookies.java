package io.picotunnel.server.auth;

import java.util.ArrayList;
import java.util.List;

/**
 * Our cookies' names over https and plain http, the Set-Cookie headers that set them, and the reading of a Cookie
 * header: one place for the management server's cookies and the proxy's service sign-in.
 */
public final class Cookies {

    /**
     * Before the name of every cookie set over https (this server's, and a published app's sign-in cookie): a browser
     * takes a {@code __Host-} cookie only from this very host, with {@code Secure}, {@code Path=/} and no
     * {@code Domain}, so a sibling domain under the same parent (another tunnel's app at evil.example.com) can set
     * none of ours (cookie tossing). Plain http has no such cookie; there the names go without it.
     */
    public static final String HOST_ONLY = "__Host-";

    private Cookies() {
    }

    /** The name cookie {@code name} has over https ({@link #HOST_ONLY} first, the only one read there) or plain http. */
    public static String named(String name, boolean https) {
        return https ? HOST_ONLY + name : name;
    }

    /**
     * The Set-Cookie value of cookie {@code name} (its whole name, {@link #named} on the request's scheme): the whole
     * host's ({@code Path=/}, no {@code Domain}), for {@code maxAgeSeconds} (0 clears it), never read by scripts
     * ({@code HttpOnly}), and sent from another site's page only when it opens one of ours ({@code SameSite=Lax}). {@code Secure} over https,
     * and for a {@link #HOST_ONLY} name on plain http too: a browser takes such a cookie only with it (clearing one
     * a visitor sent there).
     */
    public static String header(String name, String value, long maxAgeSeconds, boolean https) {
        return name + "=" + value + "; Path=/; Max-Age=" + maxAgeSeconds + "; HttpOnly; SameSite=Lax"
                + (https || name.startsWith(HOST_ONLY) ? "; Secure" : "");
    }

    /** The parts of a Cookie header ({@code a=1; b=2}, several headers joined with "; "), stripped, blank ones left out. */
    public static List<String> parts(String header) {
        List<String> parts = new ArrayList<>();
        if (header != null) {
            for (String part : header.split(";")) {
                String stripped = part.strip();
                if (!stripped.isEmpty()) {
                    parts.add(stripped);
                }
            }
        }
        return parts;
    }

    /** The name of a part ({@code name=value}, or a Set-Cookie's start): the text before its first "=", all without one. */
    public static String name(String part) {
        int equals = part.indexOf('=');
        return equals < 0 ? part : part.substring(0, equals);
    }

    /** The value of a part: the text after its first "=", or null without one. */
    public static String valueOf(String part) {
        int equals = part.indexOf('=');
        return equals < 0 ? null : part.substring(equals + 1);
    }

    /** The value of the first cookie named {@code name} in a Cookie header, or null. */
    public static String value(String header, String name) {
        for (String part : parts(header)) {
            String value = valueOf(part);
            if (value != null && name(part).equals(name)) {
                return value;
            }
        }
        return null;
    }
}
