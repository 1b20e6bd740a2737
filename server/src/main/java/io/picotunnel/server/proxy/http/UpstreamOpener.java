package io.picotunnel.server.proxy.http;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.util.concurrent.Future;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.server.store.Service;

import java.util.Set;

/** Opens the byte stream that carries one proxied request to a service's target. */
@FunctionalInterface
public interface UpstreamOpener {

    /**
     * Opens a stream to {@code service}'s target with {@code handler} in its pipeline. The future completes
     * once the stream can be written to, with whatever must precede the HTTP bytes (the stream header)
     * already written. It fails with {@link io.picotunnel.server.tunnel.TunnelOfflineException} when the
     * service's tunnel has no client connected. Cancelling it takes back an open not done yet: no stream is opened
     * for it later, or one opened meanwhile is closed.
     */
    Future<? extends Channel> open(Service service, ChannelHandler handler);

    /**
     * As {@link #open(Service, ChannelHandler)}, on none of the tunnel's clients whose session is in {@code passOver}
     * (they refused a stream to the same request). An opener without tunnel clients has none to pass over.
     */
    default Future<? extends Channel> open(Service service, ChannelHandler handler, Set<YamuxSession> passOver) {
        return open(service, handler);
    }
}
