package io.picotunnel.server.monitor;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.server.tunnel.TunnelRegistry;
import io.picotunnel.testkit.SilentPeer;

import java.util.concurrent.TimeUnit;

/**
 * The only client of tunnel {@code t1} in {@link #registry}: the server's yamux session over a real loopback
 * connection to a {@link SilentPeer#draining} peer, which takes every frame and never answers one.
 */
final class SilentClient implements AutoCloseable {

    static final String TUNNEL_ID = "t1";

    final SilentPeer peer = SilentPeer.draining();
    final TunnelRegistry registry = new TunnelRegistry();
    final YamuxSession session = new YamuxSession(YamuxRole.SERVER, YamuxConfig.defaults(),
            new ChannelInboundHandlerAdapter());
    final Channel parent;
    private final EventLoopGroup group;

    SilentClient(String loopName) throws InterruptedException {
        group = Transport.newEventLoopGroup(1, loopName);
        try {
            parent = new Bootstrap().group(group).channel(Transport.socketChannel()).handler(session)
                    .connect(peer.socketAddress()).sync().channel();
        } catch (InterruptedException | RuntimeException e) {
            peer.close();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw e;
        }
        registry.register(TUNNEL_ID, null, session, "test", "silent.invalid");
    }

    @Override
    public void close() {
        parent.close().awaitUninterruptibly(10, TimeUnit.SECONDS);
        peer.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }
}
