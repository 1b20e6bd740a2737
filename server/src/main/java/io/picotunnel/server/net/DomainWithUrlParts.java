package io.picotunnel.server.net;

import io.picotunnel.protocol.net.Hostnames;

import java.util.Optional;

import static io.picotunnel.protocol.text.ControlCharacters.quoted;

/**
 * A domain written as a URL ({@code https://app.example.com}) or with a port ({@code app.example.com:8000}), as
 * cloudflared's and ngrok's URLs and the address bar teach: says which part a domain does not take, whose flags set
 * its ports, and the name to write instead. A service's domain and the server's own (--domain) have ports of their own.
 */
public final class DomainWithUrlParts {
    private static final String SERVICE_PORTS = "a domain takes no port: the port is the proxy's (--http-addr, --https-addr)";
    private static final String SERVER_PORTS = "the server's domain takes no port: its ports are --tunnel-addr's"
            + " (clients), --listen-addr's (UI and API) and --http-addr's, --https-addr's (proxy)";

    private DomainWithUrlParts() {
    }

    /** Why {@code value} is not a service's domain when it has a scheme or a port, with the name it holds; else empty. */
    public static Optional<String> explain(String value) {
        return explain(value, SERVICE_PORTS, true);
    }

    /** Why {@code value} is not the server's own domain (--domain) when it has a scheme or a port; else empty. */
    public static Optional<String> explainServerDomain(String value) {
        return explain(value, SERVER_PORTS, false);
    }

    private static Optional<String> explain(String value, String portNote, boolean wildcard) {
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
        if (!isDomain(name, wildcard)) {
            return Optional.empty();
        }
        return Optional.of(quoted(value) + (url ? " is a URL, not a domain" + (port ? "; " + portNote : "")
                : " has a port; " + portNote) + "; write " + quoted(name));
    }

    private static boolean isDomain(String name, boolean wildcard) {
        try {
            String ascii = Hostnames.ascii(name);
            return wildcard ? Hostnames.isHostnameOrWildcard(ascii) : Hostnames.isHostname(ascii);
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
