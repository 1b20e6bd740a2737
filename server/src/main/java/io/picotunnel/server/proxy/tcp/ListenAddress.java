package io.picotunnel.server.proxy.tcp;

import java.net.InetSocketAddress;

/** Parses a {@code listen_addr}: {@code host:port}, {@code [v6]:port} or {@code :port} (all interfaces). */
final class ListenAddress {

    private ListenAddress() {
    }

    static InetSocketAddress parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("a tcp service needs a listen_addr");
        }
        int colon = text.lastIndexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("listen_addr " + text + " is not host:port");
        }
        String host = text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(text.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("listen_addr " + text + " has no numeric port");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("listen_addr " + text + " has a port outside 1-65535");
        }
        return host.isEmpty() ? new InetSocketAddress(port) : new InetSocketAddress(host, port);
    }
}
