package io.picotunnel.server.access;

import io.netty.channel.Channel;
import io.netty.util.AttributeKey;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/**
 * The address a public connection comes from: the source a trusted front proxy gave for it ({@link #PROXIED}),
 * else the peer's. For an HTTP/2 stream, its connection's.
 */
public final class VisitorAddress {

    /** Set on a connection when a trusted front proxy named its visitor at the connection level. */
    public static final AttributeKey<InetSocketAddress> PROXIED = AttributeKey.valueOf("picotunnel.proxied-source");
    /**
     * Set on a connection when a trusted front proxy said in its PROXY protocol header that the visitor reached it
     * over TLS (version 2's SSL TLV).
     */
    public static final AttributeKey<Boolean> PROXIED_TLS = AttributeKey.valueOf("picotunnel.proxied-tls");

    private VisitorAddress() {
    }

    /** The visitor's address, or null when the channel has no IP peer. */
    public static InetAddress of(Channel channel) {
        for (Channel c = channel; c != null; c = c.parent()) {
            InetSocketAddress proxied = c.attr(PROXIED).get();
            if (proxied != null) {
                return proxied.getAddress();
            }
            SocketAddress address = c.remoteAddress();
            if (address instanceof InetSocketAddress inet && inet.getAddress() != null) {
                return inet.getAddress();
            }
        }
        return null;
    }

    /** Whether a trusted front proxy named this connection's visitor (for an HTTP/2 stream, its connection's). */
    public static boolean proxied(Channel channel) {
        for (Channel c = channel; c != null; c = c.parent()) {
            if (c.attr(PROXIED).get() != null) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether a trusted front proxy said in the PROXY protocol header of this connection (for an HTTP/2 stream, of
     * its connection) that the visitor reached it over TLS ({@link #PROXIED_TLS}).
     */
    public static boolean tlsAtProxy(Channel channel) {
        for (Channel c = channel; c != null; c = c.parent()) {
            if (Boolean.TRUE.equals(c.attr(PROXIED_TLS).get())) {
                return true;
            }
        }
        return false;
    }
}
