package io.picotunnel.server.access;

import io.netty.channel.Channel;
import io.netty.channel.ServerChannel;
import io.netty.util.AttributeKey;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.function.Function;

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
        InetSocketAddress proxied = nearest(channel, c -> c.attr(PROXIED).get());
        if (proxied != null) {
            return proxied.getAddress();
        }
        return peerOf(connection(channel));
    }

    /** Whether a trusted front proxy named this connection's visitor (for an HTTP/2 stream, its connection's). */
    public static boolean proxied(Channel channel) {
        return nearest(channel, c -> c.attr(PROXIED).get()) != null;
    }

    /**
     * Whether a trusted front proxy said in the PROXY protocol header of this connection (for an HTTP/2 stream, of
     * its connection) that the visitor reached it over TLS ({@link #PROXIED_TLS}).
     */
    public static boolean tlsAtProxy(Channel channel) {
        return nearest(channel, c -> Boolean.TRUE.equals(c.attr(PROXIED_TLS).get()) ? Boolean.TRUE : null) != null;
    }

    /**
     * The accepted connection the channel is, or is a stream of: the last of its parents below the listener. An
     * HTTP/2 stream reports its connection's peer as its own remote address but keeps attributes of its own, so a
     * stream's peer must not be taken before its connection's {@link #PROXIED}.
     */
    private static Channel connection(Channel channel) {
        Channel c = channel;
        while (c.parent() != null && !(c.parent() instanceof ServerChannel)) {
            c = c.parent();
        }
        return c;
    }

    /** The channel's IP peer; null when it has none. */
    private static InetAddress peerOf(Channel channel) {
        SocketAddress address = channel.remoteAddress();
        return address instanceof InetSocketAddress inet ? inet.getAddress() : null;
    }

    /**
     * What {@code found} gives for the channel, else for the nearest of its parents (an HTTP/2 stream's connection)
     * for which it gives one; null when none does.
     */
    private static <T> T nearest(Channel channel, Function<Channel, T> found) {
        for (Channel c = channel; c != null; c = c.parent()) {
            T value = found.apply(c);
            if (value != null) {
                return value;
            }
        }
        return null;
    }
}
