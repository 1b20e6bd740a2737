package io.picotunnel.server.proxy.http;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ImmediateEventExecutor;
import io.netty.util.concurrent.Promise;
import io.picotunnel.protocol.stream.StreamHeader;
import io.picotunnel.protocol.stream.StreamType;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.tunnel.TunnelRegistry;

/** Opens each proxied request as a yamux stream {@code {"type":"http","target":...}} to the tunnel's client. */
public final class TunnelUpstream implements UpstreamOpener {

    private final TunnelRegistry tunnels;

    public TunnelUpstream(TunnelRegistry tunnels) {
        this.tunnels = tunnels;
    }

    @Override
    public Future<? extends Channel> open(Service service, ChannelHandler handler) {
        Promise<Channel> promise = ImmediateEventExecutor.INSTANCE.newPromise();
        Future<YamuxStreamChannel> opened = tunnels.openStream(service.tunnelId(), handler);
        opened.addListener(f -> {
            if (!opened.isSuccess()) {
                promise.tryFailure(opened.cause());
                return;
            }
            YamuxStreamChannel stream = opened.getNow();
            // From the first handler's context the header goes out below the HTTP codec, before any request.
            stream.pipeline().firstContext()
                    .writeAndFlush(new StreamHeader(StreamType.HTTP, service.targetAddr()).encode(stream.alloc()));
            promise.trySuccess(stream);
        });
        return promise;
    }
}
