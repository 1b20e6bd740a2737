package io.picotunnel.server.tunnel;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.ws.TunnelCloseStatus;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.server.tls.HttpsRoute;
import io.picotunnel.server.tls.TunnelPassthrough;
import io.picotunnel.testkit.SilentPeer;

import java.util.concurrent.TimeUnit;

/**
 * A tunnel's only client, registered with a server session over a real loopback connection to a
 * {@link SilentPeer#draining} peer, and a loop of their own for its visitors (see {@link VisitorLoop}).
 */
final class SilentTunnelClient implements AutoCloseable {

    final TunnelRegistry registry = new TunnelRegistry();
    final YamuxSession session = new YamuxSession(YamuxRole.SERVER, YamuxConfig.defaults(),
            new ChannelInboundHandlerAdapter());
    final EventLoopGroup visitorLoop;
    private final String tunnelId;
    private final String tokenSha256;
    private final SilentPeer peer = SilentPeer.draining();
    private final EventLoopGroup sessionLoop;
    private final Channel parent;

    /** Connects and registers the client of {@code tunnelId}; {@code tokenSha256} may be null. */
    SilentTunnelClient(String tunnelId, String tokenSha256, String loopName) throws InterruptedException {
        this.tunnelId = tunnelId;
        this.tokenSha256 = tokenSha256;
        sessionLoop = Transport.newEventLoopGroup(1, loopName + "-session");
        visitorLoop = Transport.newEventLoopGroup(1, loopName + "-visitors");
        parent = new Bootstrap().group(sessionLoop).channel(Transport.socketChannel()).handler(session)
                .connect(peer.socketAddress()).sync().channel();
        registry.register(tunnelId, tokenSha256, session, "test", "silent.invalid");
    }

    TunnelRegistry.Connection only() {
        return registry.connections(tunnelId).getFirst();
    }

    /** Serves TLS passthrough visitors of {@code host} to this client's tunnel on the visitor loop; answers the port. */
    int listenForPassthrough(String host) throws InterruptedException {
        TunnelPassthrough passthrough = new TunnelPassthrough(registry);
        HttpsRoute.Passthrough route = new HttpsRoute.Passthrough(host, tunnelId, "127.0.0.1:9");
        return VisitorLoop.listen(visitorLoop, ctx -> passthrough.forward(ctx, route));
    }

    /** Ends the client as the server does when its token is regenerated or its tunnel deleted. */
    void revoke(TunnelCloseStatus why) {
        if (why == TunnelCloseStatus.TOKEN_REGENERATED) {
            registry.disconnect(tunnelId, tokenSha256);
        } else {
            registry.disconnect(tunnelId);
        }
    }

    @Override
    public void close() {
        parent.close().awaitUninterruptibly(10, TimeUnit.SECONDS);
        peer.close();
        visitorLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
        sessionLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }
}
