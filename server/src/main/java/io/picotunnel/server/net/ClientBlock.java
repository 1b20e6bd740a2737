package io.picotunnel.server.net;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

/**
 * What every per-address limit counts by (connections, rate limit buckets, failed logins, pending sign-ins): an
 * IPv4 address on its own, an IPv6 address by its /64, the block one host or one home is usually given, so that a
 * visitor cannot get a fresh count from each of its 2^64 addresses. An IPv4-mapped IPv6 address
 * ({@code ::ffff:192.0.2.1}) is its IPv4 address.
 */
public final class ClientBlock {

    private static final int PREFIX_BYTES = 8;

    private ClientBlock() {
    }

    /** The block of {@code address}: IPv4 as it is, IPv6 with its last 64 bits zero (no scope); null for null. */
    public static InetAddress of(InetAddress address) {
        if (!(address instanceof Inet6Address)) {
            return address;
        }
        byte[] bytes = address.getAddress();
        if (isIpv4Mapped(bytes)) {
            return byAddress(Arrays.copyOfRange(bytes, 12, 16));
        }
        Arrays.fill(bytes, PREFIX_BYTES, bytes.length, (byte) 0);
        return byAddress(bytes);
    }

    /**
     * The block of an address in text (with or without brackets), as text: {@code 192.0.2.1},
     * {@code 2001:db8:1:2:0:0:0:0/64}. Never a name lookup: text that is no IPv6 literal stands for itself (and
     * null for "").
     */
    public static String of(String address) {
        if (address == null) {
            return "";
        }
        String literal = address.startsWith("[") && address.endsWith("]") ? address.substring(1, address.length() - 1) : address;
        if (literal.indexOf(':') < 0) {
            return literal;
        }
        InetAddress parsed;
        try {
            parsed = InetAddress.getByName("[" + literal + "]"); // in brackets: a literal or an error, never a lookup
        } catch (UnknownHostException | SecurityException e) {
            return literal;
        }
        InetAddress block = of(parsed);
        return block instanceof Inet6Address ? block.getHostAddress() + "/64" : block.getHostAddress();
    }

    private static boolean isIpv4Mapped(byte[] bytes) {
        for (int i = 0; i < 10; i++) {
            if (bytes[i] != 0) {
                return false;
            }
        }
        return bytes[10] == (byte) 0xFF && bytes[11] == (byte) 0xFF;
    }

    private static InetAddress byAddress(byte[] bytes) {
        try {
            return InetAddress.getByAddress(bytes);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e); // only for a length other than 4 or 16
        }
    }
}
