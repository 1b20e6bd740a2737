package io.picotunnel.server.net;

import io.netty.util.NetUtil;
import io.picotunnel.protocol.idna.Idna;
import io.picotunnel.protocol.net.Hostnames;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.List;

import static io.picotunnel.protocol.text.ControlCharacters.quoted;

/**
 * An address to listen on or connect to: {@code :8080} (every interface), {@code host:port},
 * {@code 127.0.0.1:port} or {@code [::1]:port}. The host is stored without brackets, a name in lower case and in
 * ASCII (beyond it, in its xn-- form); an empty host means every interface.
 */
public record HostPort(String host, int port) {

    public HostPort {
        if (host == null) {
            throw new IllegalArgumentException("host must not be null (use \"\" for every interface)");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is out of range (0-65535)");
        }
    }

    /** How {@link #parse} treats a missing host and port 0. */
    public enum Rules {
        /** Server listeners: host optional (every interface), port 0 allowed (an ephemeral port). */
        SERVER_LISTEN(true, true),
        /** A TCP service's public address: host optional, port 1-65535. */
        SERVICE_LISTEN(true, false),
        /** A tcp service's listen address as the API takes it: as {@link #SERVICE_LISTEN}, port 0 to have one chosen. */
        SERVICE_REQUEST(true, true),
        /** An address to connect to: host required, port 1-65535, '_' taken in a name (Docker's my_app). */
        CONNECT(false, false);

        private final boolean hostOptional;
        private final boolean portZeroAllowed;

        Rules(boolean hostOptional, boolean portZeroAllowed) {
            this.hostOptional = hostOptional;
            this.portZeroAllowed = portZeroAllowed;
        }
    }

    /**
     * Parses {@code text}; the message of the {@link IllegalArgumentException} is a sentence fragment that
     * says what is wrong (callers prefix it with the field or setting name).
     */
    public static HostPort parse(String text, Rules rules) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("is empty; expected host:port, for example "
                    + (rules.hostOptional ? ":8080 or " : "") + "127.0.0.1:8080");
        }
        String value = text.trim();
        int schemeEnd = value.indexOf("://");
        if (schemeEnd > 0 && value.substring(0, schemeEnd).chars().allMatch(Character::isLetter)) {
            throw new IllegalArgumentException(urlGiven(value, schemeEnd, rules));
        }
        String host;
        String portText;
        if (value.startsWith("[")) {
            int close = value.indexOf(']');
            if (close < 0 || close + 1 >= value.length() || value.charAt(close + 1) != ':') {
                throw notHostPort(value, rules);
            }
            host = value.substring(1, close);
            portText = value.substring(close + 2);
            if (!Hostnames.isIpv6Literal(host)) {
                throw new IllegalArgumentException(quoted(value) + " has an invalid IPv6 address in brackets");
            }
            if (rules != Rules.CONNECT) {
                // A target goes to the client as written, where --allow compares it by its text.
                host = canonicalIpv6(host);
            }
        } else {
            int colon = value.lastIndexOf(':');
            if (colon < 0 || value.indexOf(':') != colon) {
                throw notHostPort(value, rules);
            }
            host = asciiName(value.substring(0, colon), value);
            portText = value.substring(colon + 1);
            boolean name = rules == Rules.CONNECT ? Hostnames.isTargetName(host) : Hostnames.isHostname(host);
            if (!host.isEmpty() && !name && !Hostnames.isIpv4Literal(host)) {
                throw new IllegalArgumentException(quoted(value) + " has an invalid host name " + quoted(host)
                        + (rules == Rules.CONNECT || !Hostnames.isTargetName(host) ? ""
                        : "; '_' may be in a target's host name (a Docker name such as my_app:8080), not in an"
                        + " address to listen on"));
            }
        }
        if (host.isEmpty() && !rules.hostOptional) {
            throw new IllegalArgumentException(quoted(value) + " has no host; expected host:port, for example localhost:8080");
        }
        if (portText.isEmpty() || portText.length() > 5 || !portText.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException(quoted(value) + " has no valid port number after the colon");
        }
        int port = Integer.parseInt(portText);
        int min = rules.portZeroAllowed ? 0 : 1;
        if (port < min || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is out of range (" + min + "-65535)");
        }
        return new HostPort(host.toLowerCase(java.util.Locale.ROOT), port);
    }

    /** {@code host} in its ASCII form ({@code bücher.lan} is {@code xn--bcher-kva.lan}), as it is looked up and dialled. */
    private static String asciiName(String host, String value) {
        try {
            return Idna.toAscii(host);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(quoted(value) + " has an invalid host name " + quoted(host) + ": " + e.getMessage(), e);
        }
    }

    /**
     * An IPv6 literal as RFC 5952 writes it ({@code 0:0:0:0:0:0:0:1} and {@code 0::1} are {@code ::1}, {@code ::0} is
     * {@code ::}), so that one address has one spelling: overlaps and the wildcard are told by comparing text.
     */
    private static String canonicalIpv6(String literal) {
        try {
            return NetUtil.toAddressString(InetAddress.getByName(literal));
        } catch (UnknownHostException e) {
            return literal; // not reached: checked as a literal, no name is looked up
        }
    }

    /**
     * A URL where host:port goes, as cloudflared's {@code --url http://localhost:8000} or ngrok's upstream URL are
     * written: says so, with the host:port it holds when it has a port.
     */
    private static String urlGiven(String value, int schemeEnd, Rules rules) {
        String rest = value.substring(schemeEnd + 3);
        int end = rest.length();
        for (char c : new char[] {'/', '?', '#'}) {
            end = rest.indexOf(c) < 0 ? end : Math.min(end, rest.indexOf(c));
        }
        String instead;
        try {
            instead = parse(rest.substring(0, end), rules).toString();
        } catch (IllegalArgumentException e) {
            instead = null;
        }
        return quoted(value) + " is a URL, not host:port; " + (instead != null ? "write " + quoted(instead)
                : "write the host and port alone, for example " + (rules.hostOptional ? ":8080 or " : "") + "127.0.0.1:8080");
    }

    private static IllegalArgumentException notHostPort(String value, Rules rules) {
        return new IllegalArgumentException(quoted(value) + " is not of the form host:port, for example "
                + (rules.hostOptional ? ":8080 or " : "") + "127.0.0.1:8080");
    }

    /** True when the address listens on every interface ({@code :port}, {@code 0.0.0.0:port}, {@code [::]:port}). */
    public boolean isWildcard() {
        return host.isEmpty() || host.equals("0.0.0.0") || host.equals("::") || host.equals("0:0:0:0:0:0:0:0");
    }

    /** True when two listen addresses cannot both be bound: same port and the same or a wildcard host. */
    public boolean overlaps(HostPort other) {
        return port == other.port && (isWildcard() || other.isWildcard() || host.equals(other.host));
    }

    /**
     * As {@link #overlaps}, and also when the two hosts name one same address in different ways ({@code localhost} and
     * {@code 127.0.0.1}), as the resolver answers now.
     */
    public boolean overlapsAsResolved(HostPort other) {
        if (overlaps(other)) {
            return true;
        }
        if (port != other.port) {
            return false;
        }
        try {
            List<InetAddress> mine = Arrays.asList(InetAddress.getAllByName(host));
            for (InetAddress address : InetAddress.getAllByName(other.host)) {
                if (mine.contains(address)) {
                    return true;
                }
            }
        } catch (UnknownHostException e) {
            // A name that does not resolve is bound nowhere.
        }
        return false;
    }

    /** The socket address to bind to (the wildcard address when the host is empty). */
    public InetSocketAddress toBindAddress() {
        return host.isEmpty() ? new InetSocketAddress(port) : new InetSocketAddress(host, port);
    }

    @Override
    public String toString() {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
