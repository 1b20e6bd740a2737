package io.picotunnel.server.access;

import io.picotunnel.protocol.text.ControlCharacters;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Locale;

/**
 * A block of IPv4 or IPv6 addresses: {@code 10.0.0.0/8}, {@code 2001:db8::/32}, or one address
 * ({@code 192.0.2.7} is {@code 192.0.2.7/32}). IPv4 and IPv6 blocks never match each other's addresses
 * (an IPv4-mapped IPv6 address arrives from Java as the IPv4 address).
 */
public record Cidr(byte[] network, int prefix) {

    /** An IPv4 address as four decimal numbers 0-255 without leading zeros: the one IPv4 notation read anywhere. */
    static final String IPV4 = "(?:(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";

    /** Parses {@code text}; the message of the exception says what is wrong, for an API error or a setting. */
    public static Cidr parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("an empty entry is not an address block");
        }
        String value = text.strip();
        String quoted = ControlCharacters.quoted(value);
        int slash = value.indexOf('/');
        String addressText = slash < 0 ? value : value.substring(0, slash);
        if (!addressText.matches("[0-9a-fA-F:.]+") || (!addressText.contains(":") && !addressText.contains("."))) {
            throw new IllegalArgumentException(quoted + " is not an IPv4 or IPv6 address block such as 10.0.0.0/8"
                    + " or 2001:db8::/32 (host names are not allowed)");
        }
        // IPv4 as four decimal numbers only: Java, like inet_aton, would read "192.168.1" as 192.168.0.1 and
        // "010.0.0.1" as 10.0.0.1 (inet_aton: 8.0.0.1), and text with a dot that is no literal ("cafe.de") as a
        // host name to look up. IPv6 in brackets, which Java takes as a literal or nothing, never a name.
        if (!addressText.contains(":") && !addressText.matches(IPV4)) {
            throw new IllegalArgumentException(quoted + " is not a valid IPv4 address: write four numbers from 0"
                    + " to 255 without leading zeros, such as 192.168.1.0/24");
        }
        byte[] address;
        try {
            address = InetAddress.getByName(addressText.contains(":") ? "[" + addressText + "]" : addressText).getAddress();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(quoted + " is not a valid IP address");
        }
        if (addressText.contains(":") && address.length == 4) {
            throw new IllegalArgumentException(quoted + " is an IPv4-mapped IPv6 block; write it as IPv4");
        }
        int bits = address.length * 8;
        int prefix = bits;
        if (slash >= 0) {
            String prefixText = value.substring(slash + 1);
            if (!prefixText.matches("\\d{1,3}") || Integer.parseInt(prefixText) > bits) {
                throw new IllegalArgumentException(quoted + " has an invalid prefix length; it must be 0 to " + bits);
            }
            prefix = Integer.parseInt(prefixText);
        }
        byte[] masked = mask(address, prefix);
        if (!java.util.Arrays.equals(masked, address)) {
            throw new IllegalArgumentException(quoted + " has address bits set beyond the /" + prefix + " prefix; did you mean "
                    + new Cidr(masked, prefix) + "?");
        }
        return new Cidr(masked, prefix);
    }

    public Cidr {
        network = network.clone();
    }

    @Override
    public byte[] network() {
        return network.clone();
    }

    /** Whether {@code address} is in this block. */
    public boolean contains(InetAddress address) {
        byte[] bytes = address.getAddress();
        if (bytes.length != network.length) {
            return false;
        }
        int full = prefix / 8;
        for (int i = 0; i < full; i++) {
            if (bytes[i] != network[i]) {
                return false;
            }
        }
        int rest = prefix % 8;
        if (rest == 0) {
            return true;
        }
        int m = (0xff << (8 - rest)) & 0xff;
        return (bytes[full] & m) == (network[full] & m);
    }

    private static byte[] mask(byte[] address, int prefix) {
        byte[] masked = address.clone();
        for (int i = 0; i < masked.length; i++) {
            int keep = Math.max(0, Math.min(8, prefix - i * 8));
            masked[i] = (byte) (masked[i] & ((0xff << (8 - keep)) & 0xff));
        }
        return masked;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Cidr c && c.prefix == prefix && java.util.Arrays.equals(c.network, network);
    }

    @Override
    public int hashCode() {
        return java.util.Arrays.hashCode(network) * 31 + prefix;
    }

    /** The canonical form: {@code 10.0.0.0/8}, {@code 2001:db8::/32}. */
    @Override
    public String toString() {
        try {
            String host = InetAddress.getByAddress(network).getHostAddress().toLowerCase(Locale.ROOT);
            if (network.length == 16) {
                host = compress(host);
            }
            return host + "/" + prefix;
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Java writes IPv6 in full ({@code 2001:db8:0:0:0:0:0:0}); shorten the longest run of zero groups. */
    private static String compress(String full) {
        String[] groups = full.split(":");
        int bestStart = -1;
        int bestLength = 0;
        for (int i = 0; i < groups.length; ) {
            if (groups[i].equals("0")) {
                int j = i;
                while (j < groups.length && groups[j].equals("0")) {
                    j++;
                }
                if (j - i > bestLength && j - i > 1) {
                    bestStart = i;
                    bestLength = j - i;
                }
                i = j;
            } else {
                i++;
            }
        }
        if (bestStart < 0) {
            return full;
        }
        String head = String.join(":", java.util.Arrays.copyOfRange(groups, 0, bestStart));
        String tail = String.join(":", java.util.Arrays.copyOfRange(groups, bestStart + bestLength, groups.length));
        return head + "::" + tail;
    }
}
