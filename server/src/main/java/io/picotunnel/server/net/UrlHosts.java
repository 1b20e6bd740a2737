package io.picotunnel.server.net;

import io.picotunnel.protocol.idna.HostEscapes;
import io.picotunnel.protocol.idna.Idna;
import io.picotunnel.protocol.net.Hostnames;
import io.picotunnel.protocol.text.ControlCharacters;

import java.util.Locale;

/**
 * A URL whose host is beyond ASCII ({@code https://bücher.example/}) with that host in its ASCII form
 * ({@code https://xn--bcher-kva.example/}), as browsers and Go's net/http send it: the one form DNS, TLS (SNI and
 * certificates) and {@link java.net.URI} take. A host written with %-escapes ({@code b%C3%BCcher.example}) is
 * decoded first, as browsers and Go's url.Parse do. Only the labels beyond ASCII change (in lower case, as IDNA gives
 * them): the rest of the URL, and a URL whose host is all ASCII, stay as given (an OIDC issuer must match the
 * provider's {@code iss} to the letter).
 */
public final class UrlHosts {

    private UrlHosts() {
    }

    /**
     * {@code url} with its host in ASCII; throws with a sentence naming the host and, where one can be named, the
     * character no host name may have.
     */
    public static String ascii(String url) {
        int scheme = url.indexOf("://");
        if (scheme < 0 || url.chars().allMatch(c -> c < 128) && url.indexOf('%') < 0) {
            return url;
        }
        int start = scheme + 3;
        int end = start;
        while (end < url.length() && "/?#".indexOf(url.charAt(end)) < 0) {
            end++;
        }
        int at = url.lastIndexOf('@', end - 1);
        if (at >= start) {
            start = at + 1;
        }
        if (start < end && url.charAt(start) == '[') {
            return url; // an IPv6 literal: nothing to convert
        }
        int colon = url.lastIndexOf(':', end - 1);
        int hostEnd = colon >= start ? colon : end;
        String host = url.substring(start, hostEnd);
        if (host.chars().allMatch(c -> c < 128) && host.indexOf('%') < 0) {
            return url;
        }
        String decoded;
        try {
            decoded = HostEscapes.decoded(host);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("its host " + ControlCharacters.quoted(host) + " " + e.getMessage(), e);
        }
        String ascii;
        try {
            ascii = Idna.toAscii(decoded);
        } catch (IllegalArgumentException e) {
            throw refused(host, decoded, e.getMessage());
        }
        if (!Hostnames.isHostname(ascii)) {
            throw refused(host, decoded, "it is not a valid host name such as tunnel.example.com");
        }
        return url.substring(0, start) + ascii + url.substring(hostEnd);
    }

    private static IllegalArgumentException refused(String host, String decoded, String why) {
        int c = refusedCharacter(decoded);
        // An ASCII character (a space, '_') has no xn-- form to give instead.
        String reason = c < 0 ? why : "it has " + Idna.describe(c) + (decoded.equals(host) ? "" : " once decoded")
                + (c < 128 ? ", which no host name may have"
                : ", which PicoTunnel cannot convert; give the host in its xn-- form");
        return new IllegalArgumentException("its host " + ControlCharacters.quoted(host)
                + " cannot be converted to its ASCII (xn--) form: " + reason);
    }

    /** The first character of {@code host} no host name may have; else -1. */
    static int refusedCharacter(String host) {
        for (int i = 0; i < host.length(); i += Character.charCount(host.codePointAt(i))) {
            int c = host.codePointAt(i);
            boolean taken;
            if (c < 128) {
                taken = c == '.' || c == '-' || Character.isLetterOrDigit(c);
            } else {
                try {
                    taken = Hostnames.isHostname(Idna.toAscii("a" + Character.toString(c)));
                } catch (IllegalArgumentException e) {
                    taken = false;
                }
            }
            if (!taken) {
                return c;
            }
        }
        return -1;
    }
}
