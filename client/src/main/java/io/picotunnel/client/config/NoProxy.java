package io.picotunnel.client.config;

import io.netty.util.NetUtil;
import io.picotunnel.protocol.text.ControlCharacters;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;

/**
 * Whether the standard proxy variables apply to a server, by the rules of Go's {@code golang.org/x/net/http/httpproxy}
 * ({@code useProxy} and the {@code NO_PROXY} matchers of {@code config.init}), which cloudflared and frp follow, so
 * that one environment sends them and this client the same way:
 * <ul>
 * <li>a server on this machine is never proxied: {@code localhost} and a loopback IP address (127.0.0.0/8, also as
 *     IPv4-mapped IPv6 {@code ::ffff:127.0.0.1}, and {@code ::1}). Departures, where Go would hand the server to
 *     the proxy: names below {@code localhost} ({@code tunnel.localhost}, RFC 6761) count as this machine too, and
 *     so does {@code localhost} in any case or with a trailing dot ({@code LOCALHOST}, {@code localhost.}: {@link
 *     HostPort} lowers the case, {@link ServerAddress} drops the dot), which Go compares with {@code localhost} as
 *     written;</li>
 * <li>{@code NO_PROXY} (or {@code no_proxy} when it is unset or empty) is split on commas alone, each entry trimmed
 *     and compared in lower case; {@code *} names every server;</li>
 * <li>a CIDR range ({@code 10.0.0.0/8}) names the IP addresses in it, an IP address ({@code 10.1.2.3},
 *     {@code 10.1.2.3:8443}, {@code 2001:db8::5}, {@code [2001:db8::5]:8443}) that address, IPv4-mapped IPv6 the same
 *     as IPv4;</li>
 * <li>anything else is a name: {@code example.com} names that name and every one ending in {@code .example.com},
 *     {@code .example.com} and {@code *.example.com} only the latter. The comparison is on the text of the server's
 *     host, so, as in Go, {@code .2.3} names the server {@code 10.1.2.3} and a bracketed IPv6 address without a port
 *     ({@code [2001:db8::5]}) names nothing. A name beyond ASCII ({@code bücher.example}) is compared in its punycode
 *     form ({@code xn--bcher-kva.example}), the server's, as Go converts both. Departure: a name is %-decoded
 *     first ({@code ex%61mple.com} names {@code example.com}), as the server's URL host is, where Go keeps it as
 *     written and so names no server with it; a name whose escapes do not decode is refused, where Go keeps it;</li>
 * <li>a {@code :port} on an entry must be the server's port as Go writes it (decimal, no leading zero); an empty one
 *     ({@code example.com:}) names every port.</li>
 * </ul>
 * IP addresses are read as Go's {@code net.ParseIP} reads them: no leading zeros in IPv4, no zone.
 */
final class NoProxy {

    private static final Logger LOG = LoggerFactory.getLogger(ProxyUrl.class);
    private static final byte[] V4_IN_V6_PREFIX = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff};
    private static final byte[] LOOPBACK6 = NetUtil.LOCALHOST6.getAddress();

    private NoProxy() {
    }

    /** Whether the server is on this machine, or named by {@code NO_PROXY}: then the standard variables do not apply. */
    static boolean bypasses(ServerAddress server, Map<String, String> env) {
        String host = server.host();
        if (host.equalsIgnoreCase("localhost") || host.toLowerCase(Locale.ROOT).endsWith(".localhost")) {
            return true;
        }
        byte[] ip = parseIp(host);
        if (ip != null && isLoopback(ip)) {
            return true;
        }
        String variable = "NO_PROXY";
        String list = env.get(variable);
        if (list == null || list.isEmpty()) {
            variable = "no_proxy";
            list = env.get(variable);
        }
        if (list == null || list.isEmpty()) {
            return false;
        }
        String addr = host.strip().toLowerCase(Locale.ROOT);
        String port = Integer.toString(server.port());
        boolean named = false;
        for (String raw : list.split(",")) {
            String written = raw.strip();
            if (written.isEmpty()) {
                continue;
            }
            if (written.chars().anyMatch(Character::isWhitespace)) {
                // One entry for Go too, a name that no host has.
                LOG.warn("{} has the entry {}, with a space in it: entries are separated by commas (as Go"
                        + " programs read the list), so it names no server; write it as {}.", variable,
                        ControlCharacters.quoted(written), ControlCharacters.quoted(String.join(",", written.split("\\s+"))));
                continue;
            }
            try {
                named |= names(written.toLowerCase(Locale.ROOT), addr, ip, port);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("Invalid " + variable + ": its entry "
                        + ControlCharacters.quoted(written) + " " + e.getMessage() + ". Correct the entry or remove"
                        + " it: it names no server as it is.", e);
            }
        }
        return named;
    }

    /**
     * Whether one trimmed, lower-case entry names the host {@code addr} (IP {@code ip}, null for a name) at
     * {@code port}; throws with a sentence fragment ("has ...") for a name whose %-escapes do not decode.
     */
    private static boolean names(String entry, String addr, byte[] ip, String port) {
        if (entry.equals("*")) {
            return true;
        }
        Cidr cidr = Cidr.parse(entry);
        if (cidr != null) {
            return ip != null && cidr.contains(ip);
        }
        String entryHost = entry;
        String entryPort = "";
        String[] split = splitHostPort(entry);
        if (split != null) {
            if (split[0].isEmpty()) {
                return false;
            }
            entryHost = split[0];
            entryPort = split[1];
        }
        boolean portMatches = entryPort.isEmpty() || entryPort.equals(port);
        byte[] entryIp = parseIp(entryHost);
        if (entryIp != null) {
            return ip != null && Arrays.equals(entryIp, ip) && portMatches;
        }
        String suffix = entryHost.startsWith("*.") ? entryHost.substring(1) : entryHost;
        boolean matchHost = !suffix.startsWith(".");
        if (matchHost) {
            suffix = "." + suffix;
        }
        suffix = "." + asciiOrAsWritten(suffix.substring(1));
        return (addr.endsWith(suffix) || (matchHost && addr.equals(suffix.substring(1)))) && portMatches;
    }

    /**
     * A name of an entry in the form the server's name has ({@link HostPort#urlHost}): %-decoded, in ASCII and
     * lower case. {@code bücher.example} names the server {@code xn--bcher-kva.example}, as Go's {@code httpproxy}
     * converts the entries (idna); {@code ex%61mple.com} names {@code example.com}, as the server's URL
     * {@code wss://ex%61mple.com} does, where Go compares it as written and so names no server with it. Escapes that
     * do not decode are refused (Go keeps them and names no server: a server meant to be reached directly then went
     * through the proxy without a word). A name that cannot be converted stays as written, as in Go, and so names no
     * server; so does an IPv6 address with a zone ({@code fe80::1%eth0}), which is no name.
     */
    private static String asciiOrAsWritten(String name) {
        if (name.indexOf(':') >= 0) {
            return name;
        }
        String decoded = HostPort.urlHost(name);
        try {
            return HostPort.ascii(decoded).toLowerCase(Locale.ROOT);
        } catch (IllegalArgumentException e) {
            return name;
        }
    }

    /** {host, port} as Go's {@code net.SplitHostPort} splits them; null where it reports an error. */
    static String[] splitHostPort(String text) {
        int colon = text.lastIndexOf(':');
        if (colon < 0) {
            return null;
        }
        String host;
        int rest;
        if (text.startsWith("[")) {
            int close = text.indexOf(']');
            if (close < 0 || close + 1 != colon) {
                return null;
            }
            host = text.substring(1, close);
            rest = close + 1;
        } else {
            host = text.substring(0, colon);
            if (host.indexOf(':') >= 0) {
                return null;
            }
            rest = 0;
        }
        if (text.indexOf('[', text.startsWith("[") ? 1 : 0) >= 0 || text.indexOf(']', rest) >= 0) {
            return null;
        }
        return new String[] {host, text.substring(colon + 1)};
    }

    /** An IP address as Go's {@code net.ParseIP} reads it, in 16 bytes (IPv4 as {@code ::ffff:a.b.c.d}); else null. */
    static byte[] parseIp(String text) {
        byte[] v4 = parseIpv4(text);
        if (v4 != null) {
            return v4;
        }
        if (text.indexOf(':') < 0 || text.indexOf('%') >= 0 || text.indexOf('[') >= 0
                || !NetUtil.isValidIpV6Address(text)) {
            return null;
        }
        int lastColon = text.lastIndexOf(':');
        if (text.indexOf('.') >= 0 && parseIpv4(text.substring(lastColon + 1)) == null) {
            return null;
        }
        try {
            // A literal: no lookup. Java gives an IPv4-mapped address as IPv4, and keeps ::a.b.c.d as IPv6.
            InetAddress address = InetAddress.getByName(text);
            return address instanceof Inet4Address ? mapped(address.getAddress()) : address.getAddress();
        } catch (UnknownHostException e) {
            return null;
        }
    }

    /** Dotted-decimal IPv4, as Go reads it (four fields of 0 to 255, no leading zeros), in 16 bytes; else null. */
    private static byte[] parseIpv4(String text) {
        String[] fields = text.split("\\.", -1);
        if (fields.length != 4) {
            return null;
        }
        byte[] v4 = new byte[4];
        for (int i = 0; i < 4; i++) {
            String f = fields[i];
            if (f.isEmpty() || f.length() > 3 || !f.chars().allMatch(c -> c >= '0' && c <= '9')
                    || (f.length() > 1 && f.charAt(0) == '0')) {
                return null;
            }
            int value = Integer.parseInt(f);
            if (value > 255) {
                return null;
            }
            v4[i] = (byte) value;
        }
        return mapped(v4);
    }

    private static byte[] mapped(byte[] v4) {
        byte[] ip = Arrays.copyOf(V4_IN_V6_PREFIX, 16);
        System.arraycopy(v4, 0, ip, 12, 4);
        return ip;
    }

    /** The four bytes of an IPv4 address (given in 4 bytes, or IPv4-mapped in 16), else null: Go's {@code To4}. */
    private static byte[] to4(byte[] ip) {
        if (ip.length == 4) {
            return ip;
        }
        return Arrays.equals(ip, 0, 12, V4_IN_V6_PREFIX, 0, 12) ? Arrays.copyOfRange(ip, 12, 16) : null;
    }

    private static boolean isLoopback(byte[] ip) {
        byte[] v4 = to4(ip);
        return v4 != null ? v4[0] == 127 : Arrays.equals(ip, LOOPBACK6);
    }

    /** A CIDR range, as Go's {@code net.ParseCIDR} reads it and {@code IPNet.Contains} compares. */
    private record Cidr(byte[] network, byte[] mask) {

        static Cidr parse(String text) {
            int slash = text.indexOf('/');
            if (slash < 0) {
                return null;
            }
            String address = text.substring(0, slash);
            String bitsText = text.substring(slash + 1);
            byte[] ip = parseIpv4(address);
            int length = 4;
            if (ip == null) {
                length = 16;
                ip = parseIp(address);
            }
            if (ip == null || bitsText.isEmpty() || bitsText.length() > 9
                    || !bitsText.chars().allMatch(c -> c >= '0' && c <= '9')) {
                return null;
            }
            int bits = Integer.parseInt(bitsText);
            if (bits > length * 8) {
                return null;
            }
            byte[] mask = new byte[length];
            for (int i = 0; i < bits; i++) {
                mask[i / 8] |= (byte) (0x80 >> (i % 8));
            }
            byte[] net = length == 4 ? Arrays.copyOfRange(ip, 12, 16) : ip.clone();
            for (int i = 0; i < net.length; i++) {
                net[i] &= mask[i];
            }
            return new Cidr(net, mask);
        }

        boolean contains(byte[] ip) {
            byte[] net = to4(network);
            if (net == null) {
                net = network;
            }
            byte[] m = mask;
            if (m.length == 4 && net.length != 4) {
                return false;
            }
            if (m.length == 16 && net.length == 4) {
                m = Arrays.copyOfRange(m, 12, 16);
            }
            byte[] x = to4(ip);
            byte[] host = x != null ? x : ip;
            if (host.length != net.length) {
                return false;
            }
            for (int i = 0; i < net.length; i++) {
                if ((net[i] & m[i]) != (host[i] & m[i])) {
                    return false;
                }
            }
            return true;
        }
    }
}
