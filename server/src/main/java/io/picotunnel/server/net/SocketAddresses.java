package io.picotunnel.server.net;

import io.netty.util.NetUtil;

import java.net.InetSocketAddress;

/** How log lines and messages write an address the server listens on or connects to. */
public final class SocketAddresses {

    private SocketAddresses() {
    }

    /**
     * {@code host:port}, an IPv6 address in brackets as RFC 5952 writes it: the wildcard a {@code :2222} or
     * {@code 0.0.0.0:2222} listener binds is {@code [::]:2222}, as Go and ss write it, not Java's
     * {@code [0:0:0:0:0:0:0:0]:2222}. An unresolved address keeps its name.
     */
    public static String describe(InetSocketAddress address) {
        String host = address.getAddress() == null ? address.getHostString() : NetUtil.toAddressString(address.getAddress());
        return host.contains(":") ? "[" + host + "]:" + address.getPort() : host + ":" + address.getPort();
    }
}
