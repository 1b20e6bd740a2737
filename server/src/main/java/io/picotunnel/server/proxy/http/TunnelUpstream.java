package io.picotunnel.server.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ImmediateEventExecutor;
import io.netty.util.concurrent.Promise;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.tunnel.TunnelRegistry;

import java.nio.charset.StandardCharsets;

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
            stream.pipeline().firstContext().writeAndFlush(header(service.targetAddr()));
            promise.trySuccess(stream);
        });
        return promise;
    }

    private static ByteBuf header(String target) {
        byte[] json = ("{\"type\":\"http\",\"target\":\"" + target.replace("\\", "\\\\").replace("\"", "\\\"") + "\"}")
                .getBytes(StandardCharsets.UTF_8);
        return Unpooled.buffer(2 + json.length + 1).writeShort(json.length).writeBytes(json).writeByte('\n');
    }
}
