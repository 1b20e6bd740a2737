package io.picotunnel.client.config;

import io.netty.util.NetUtil;

import java.util.Locale;

/**
 * A {@code host:port} address as the stream header and {@code --allow} name it. IPv6 literals are written in
 * brackets ({@code [::1]:22}), and brackets hold nothing else; they are kept in their shortest form and host names
 * lower-case, so that addresses compare as they dial.
 */
public record HostPort(String host, int port) {

    private static final int MAX_HOST_LENGTH = 253;

    public HostPort {
        host = host.toLowerCase(Locale.ROOT);
    }

    /** Parses {@code host:port}; the message of the exception says what is wrong with it. */
    public static HostPort parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("address is empty, expected host:port");
        }
        String s = text.strip();
        String host;
        String portText;
        if (s.startsWith("[")) {
            int close = s.indexOf(']');
            if (close < 0 || close + 1 >= s.length() || s.charAt(close + 1) != ':') {
                throw new IllegalArgumentException("'" + text + "' is not [ipv6]:port");
            }
            host = s.substring(1, close);
            portText = s.substring(close + 2);
            if (host.isEmpty() || !host.chars().allMatch(c -> Character.digit(c, 16) >= 0 || c == ':' || c == '.')
                    || !NetUtil.isValidIpV6Address(host)) {
                throw new IllegalArgumentException("'" + text + "' has an invalid IPv6 address");
            }
            // One spelling per address (RFC 5952), so that --allow [::1]:22 permits a target written [0:0:0:0:0:0:0:1]:22.
            host = NetUtil.bytesToIpAddress(NetUtil.createByteArrayFromIpAddressString(host));
        } else {
            int colon = s.lastIndexOf(':');
            if (colon <= 0 || s.indexOf(':') != colon) {
                throw new IllegalArgumentException("'" + text + "' is not host:port");
            }
            host = s.substring(0, colon);
            portText = s.substring(colon + 1);
            if (host.length() > MAX_HOST_LENGTH
                    || !host.chars().allMatch(c -> Character.isLetterOrDigit(c) && c < 128 || c == '-' || c == '.' || c == '_')) {
                throw new IllegalArgumentException("'" + text + "' has an invalid host name");
            }
        }
        return new HostPort(host, parsePort(portText, text));
    }

    private static int parsePort(String portText, String whole) {
        if (portText.isEmpty() || portText.length() > 5 || !portText.chars().allMatch(Character::isDigit)) {
            throw new IllegalArgumentException("'" + whole + "' has no valid port number");
        }
        int port = Integer.parseInt(portText);
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " in '" + whole + "' is out of range 1-65535");
        }
        return port;
    }

    @Override
    public String toString() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
