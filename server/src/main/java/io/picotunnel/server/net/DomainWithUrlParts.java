package io.picotunnel.server.net;

import io.picotunnel.protocol.net.Hostnames;

import java.util.Optional;

import static io.picotunnel.protocol.text.ControlCharacters.quoted;

/**
 * A domain written as a URL ({@code https://app.example.com}) or with a port ({@code app.example.com:8000}), as
 * cloudflared's and ngrok's URLs and the address bar teach: says which part a domain does not take and the name to
 * write instead.
 */
public final class DomainWithUrlParts {
    private DomainWithUrlParts() {
    }

    /** Why {@code value} is not a domain when it has a scheme or a port, with the name it holds; empty otherwise. */
    public static Optional<String> explain(String value) {
        String rest = value.strip();
        int schemeEnd = rest.indexOf("://");
        boolean url = schemeEnd > 0 && rest.substring(0, schemeEnd).chars().allMatch(Character::isLetter);
        if (url) {
            rest = rest.substring(schemeEnd + 3);
            for (char c : new char[] {'/', '?', '#'}) {
                rest = rest.indexOf(c) < 0 ? rest : rest.substring(0, rest.indexOf(c));
            }
        }
        int colon = rest.lastIndexOf(':');
        boolean port = colon >= 0 && rest.indexOf(':') == colon && colon < rest.length() - 1
                && rest.substring(colon + 1).chars().allMatch(c -> c >= '0' && c <= '9');
        if (!url && !port) {
            return Optional.empty();
        }
        String name = port ? rest.substring(0, colon) : rest;
        if (!isDomain(name)) {
            return Optional.empty();
        }
        String portNote = "a domain takes no port: the port is the proxy's (--http-addr, --https-addr)";
        return Optional.of(quoted(value) + (url ? " is a URL, not a domain" + (port ? "; " + portNote : "")
                : " has a port; " + portNote) + "; write " + quoted(name));
    }

    private static boolean isDomain(String name) {
        try {
            return Hostnames.isHostnameOrWildcard(Hostnames.ascii(name));
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
