package io.picotunnel.client.config;

import io.netty.util.NetUtil;
import io.picotunnel.protocol.idna.HostEscapes;
import io.picotunnel.protocol.idna.Idna;
import io.picotunnel.protocol.net.Hostnames;
import io.picotunnel.protocol.text.AsciiNumbers;
import io.picotunnel.protocol.text.ControlCharacters;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.Objects;

/**
 * A {@code host:port} address as the stream header and {@code --allow} name it. IPv6 literals are written in
 * brackets ({@code [::1]:22}), and brackets hold nothing else; they are kept in their shortest form and host names
 * lower-case (and in ASCII: a name beyond it as punycode), so that addresses compare as they dial.
 */
public record HostPort(String host, int port) {

    public static final int MIN_PORT = 1;
    public static final int MAX_PORT = 65535;

    /**
     * Also for addresses made in code: a port out of range failed only when dialled, as every attempt did, and an
     * empty host dialled the local machine.
     */
    public HostPort {
        Objects.requireNonNull(host, "host");
        if (host.isEmpty()) {
            throw noHost("address " + quoted(":" + port), inRange(port) ? port : 8080);
        }
        if (!inRange(port)) {
            throw new IllegalArgumentException("port " + port + " of " + quoted(host) + " is out of range " + MIN_PORT
                    + "-" + MAX_PORT);
        }
        host = host.toLowerCase(Locale.ROOT);
    }

    /**
     * Parses {@code host:port}, a name by the rule the server applies to targets ({@link Hostnames#isTargetName}:
     * RFC 1123 labels, '_' taken); the message of the exception says what is wrong with it.
     */
    public static HostPort parse(String text) {
        return parse(text, false);
    }

    /**
     * As {@link #parse}; {@code trailingDot}: a name may end in one dot ({@code tunnel.example.com.}), as a server's
     * or a proxy's may, written as DNS's absolute form.
     */
    static HostPort parse(String text, boolean trailingDot) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("address is empty, expected host:port");
        }
        String s = text.strip();
        String host;
        String portText;
        if (s.startsWith("[")) {
            int close = s.indexOf(']');
            if (close < 0 || close + 1 >= s.length() || s.charAt(close + 1) != ':') {
                throw new IllegalArgumentException(quoted(text) + " is not [ipv6]:port");
            }
            host = s.substring(1, close);
            portText = s.substring(close + 2);
            if (host.isEmpty() || !host.chars().allMatch(c -> AsciiNumbers.hexDigit(c) >= 0 || c == ':' || c == '.')
                    || !NetUtil.isValidIpV6Address(host)) {
                throw new IllegalArgumentException(quoted(text) + " has an invalid IPv6 address");
            }
            // One spelling per address (RFC 5952), so that --allow [::1]:22 permits a target written [0:0:0:0:0:0:0:1]:22.
            host = NetUtil.bytesToIpAddress(ipv6Bytes(host));
        } else {
            int colon = s.lastIndexOf(':');
            if (colon < 0 || s.indexOf(':') != colon) {
                throw new IllegalArgumentException(quoted(text) + " is not host:port");
            }
            if (colon == 0) {
                throw noHost(quoted(text), validPort(s.substring(1)) ? Integer.parseInt(s.substring(1)) : 8080);
            }
            host = asciiName(s.substring(0, colon), text);
            portText = s.substring(colon + 1);
            String name = trailingDot && host.length() > 1 && host.endsWith(".") ? host.substring(0, host.length() - 1)
                    : host;
            String why = Hostnames.isIpv4Literal(name) ? null : Hostnames.whyNotTargetName(name);
            if (why != null) {
                throw new IllegalArgumentException(quoted(text) + " has an invalid host name: " + why);
            }
        }
        return new HostPort(host, parsePort(portText, text));
    }

    /**
     * As {@link #parse}, for the host and port of a URL ({@code --server wss://...}, {@code --proxy}): escapes in the
     * host ({@code b%C3%BCcher.example:443}) decoded first, as Go's url.Parse and browsers read them.
     */
    static HostPort parseFromUrl(String text) {
        if (text.indexOf('%') < 0 || text.strip().startsWith("[")) {
            return parse(text, true);
        }
        int colon = text.lastIndexOf(':');
        String host = colon < 0 ? text : text.substring(0, colon);
        String decoded;
        try {
            decoded = urlHost(host);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(quoted(text) + ": its host " + e.getMessage(), e);
        }
        return parse(decoded + (colon < 0 ? "" : text.substring(colon)), true);
    }

    /**
     * The host of a URL, or of a {@code NO_PROXY} entry, as it is read: its %-escapes decoded as UTF-8
     * ({@code b%C3%BCcher.example} is {@code bücher.example}); throws with a sentence fragment ("has ...") when they
     * do not decode. The server's and the proxy's URLs and {@code NO_PROXY} read a host by this alone, so an entry
     * written as the URL's host is written names that host.
     */
    static String urlHost(String host) {
        return HostEscapes.decoded(host);
    }

    /**
     * {@code host}, a name beyond ASCII ({@code bücher.example}, {@code straße.example}) in its ASCII form
     * ({@code xn--bcher-kva.example}, {@code xn--strae-oqa.example}), as Go's clients (idna) send it in DNS, TLS, HTTP
     * {@code CONNECT} and SOCKS5: proxies, resolvers and certificates take only that one.
     */
    private static String asciiName(String host, String text) {
        try {
            return ascii(host);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(quoted(text) + " has an invalid host name: " + e.getMessage(), e);
        }
    }

    /** {@code name} in its ASCII form, as {@link #parse} takes a host name; throws for a name it cannot convert. */
    static String ascii(String name) {
        return Idna.toAscii(name);
    }

    /**
     * The 16 bytes of a valid IPv6 literal. Not Netty's {@code createByteArrayFromIpAddressString}, which reads an
     * IPv4-compatible address ({@code ::127.0.0.1}, that is {@code ::7f00:1}) as the IPv4-mapped one
     * ({@code ::ffff:127.0.0.1}): another address, which made the client dial 127.0.0.1 for {@code [::127.0.0.1]}.
     */
    private static byte[] ipv6Bytes(String literal) {
        try {
            // A literal: no lookup. Java gives an IPv4-mapped address as IPv4.
            InetAddress address = InetAddress.getByName(literal);
            if (address instanceof Inet4Address) {
                byte[] mapped = new byte[16];
                mapped[10] = (byte) 0xff;
                mapped[11] = (byte) 0xff;
                System.arraycopy(address.getAddress(), 0, mapped, 12, 4);
                return mapped;
            }
            return address.getAddress();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(quoted(literal) + " is not an IPv6 address", e);
        }
    }

    private static int parsePort(String portText, String whole) {
        if (!isNumber(portText)) {
            throw new IllegalArgumentException(quoted(whole) + " has no valid port number");
        }
        int port = Integer.parseInt(portText);
        if (port < MIN_PORT || port > MAX_PORT) {
            throw new IllegalArgumentException("port " + port + " in " + quoted(whole) + " is out of range " + MIN_PORT + "-" + MAX_PORT);
        }
        return port;
    }

    /** Up to five ASCII digits: a port number, in range or not ({@code ٨٠٨٠} is none, as for other programs). */
    private static boolean isNumber(String portText) {
        return portText.length() <= 5 && AsciiNumbers.isDigits(portText);
    }

    private static boolean validPort(String portText) {
        return isNumber(portText) && inRange(Integer.parseInt(portText));
    }

    private static boolean inRange(int port) {
        return port >= MIN_PORT && port <= MAX_PORT;
    }

    /** "{@code address} has no host", and an address to write instead, on {@code port} (one in range). */
    private static IllegalArgumentException noHost(String address, int port) {
        return new IllegalArgumentException(address + " has no host; write host:port, for example localhost:" + port);
    }

    @Override
    public String toString() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }

    /** {@code text} in quotes, its control characters written out so that a message shows them and stays one line. */
    private static String quoted(String text) {
        return ControlCharacters.quoted(text);
    }
}
