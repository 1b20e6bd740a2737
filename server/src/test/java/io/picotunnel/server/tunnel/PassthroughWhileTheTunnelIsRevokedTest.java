package io.picotunnel.server.tunnel;

import ch.qos.logback.classic.Level;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.ws.TunnelCloseStatus;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.server.tls.HttpsRoute;
import io.picotunnel.server.tls.TunnelPassthrough;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.SilentPeer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A TLS passthrough visitor whose chosen client the server ended, for its token regenerated or its tunnel deleted, after
 * it was chosen and before its stream opened: the INFO line says why, not only that the client was lost.
 *
 * <p>As in PassthroughWhileTheServerStopsTest: the server's session runs over a real loopback connection to a
 * {@link SilentPeer#draining} client, and the visitor is served on a loop of its own, so its stream's open waits behind
 * a task of the session's loop that revokes the client.
 */
class PassthroughWhileTheTunnelIsRevokedTest {

    private static final String TUNNEL_ID = "t1";
    private static final String TOKEN_SHA256 = "a".repeat(64);

    private final SilentPeer peer = SilentPeer.draining();
    private final TunnelRegistry registry = new TunnelRegistry();
    private final YamuxSession session = new YamuxSession(YamuxRole.SERVER, YamuxConfig.defaults(),
            new ChannelInboundHandlerAdapter());
    private EventLoopGroup sessionLoop;
    private EventLoopGroup visitorLoop;
    private Channel parent;
    private int visitorPort;

    @BeforeEach
    void start() throws Exception {
        sessionLoop = Transport.newEventLoopGroup(1, "revoked-session");
        visitorLoop = Transport.newEventLoopGroup(1, "revoked-visitors");
        parent = new Bootstrap().group(sessionLoop).channel(Transport.socketChannel()).handler(session)
                .connect(peer.socketAddress()).sync().channel();
        registry.register(TUNNEL_ID, TOKEN_SHA256, session, "test", "silent.invalid");
        TunnelPassthrough passthrough = new TunnelPassthrough(registry);
        HttpsRoute.Passthrough route = new HttpsRoute.Passthrough("secure.test", TUNNEL_ID, "127.0.0.1:9");
        Channel listener = new ServerBootstrap().group(visitorLoop).channel(Transport.serverSocketChannel())
                .childHandler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelActive(ChannelHandlerContext ctx) {
                        passthrough.forward(ctx, route);
                    }

                    @Override
                    public boolean isSharable() {
                        return true;
                    }
                })
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
        visitorPort = ((InetSocketAddress) listener.localAddress()).getPort();
    }

    @AfterEach
    void stop() {
        parent.close().awaitUninterruptibly(10, TimeUnit.SECONDS);
        peer.close();
        visitorLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
        sessionLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }

    @ParameterizedTest
    @EnumSource(names = {"TOKEN_REGENERATED", "TUNNEL_DELETED"})
    void aPassthroughVisitorWhoseClientWasEndedOnceChosenIsLoggedWithWhy(TunnelCloseStatus why) throws Exception {
        TunnelRegistry.Connection only = registry.connections(TUNNEL_ID).getFirst();
        CountDownLatch asked = new CountDownLatch(1);
        parent.eventLoop().execute(() -> {
            try {
                asked.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (why == TunnelCloseStatus.TOKEN_REGENERATED) {
                registry.disconnect(TUNNEL_ID, TOKEN_SHA256);
            } else {
                registry.disconnect(TUNNEL_ID);
            }
        });
        try (LogCapture log = new LogCapture(TunnelPassthrough.class, Level.INFO);
             Socket visitor = new Socket()) {
            try {
                visitor.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), visitorPort), 10_000);
                await().atMost(Duration.ofSeconds(10)).until(() -> only.load() == 1);
            } finally {
                asked.countDown();
            }

            await().atMost(Duration.ofSeconds(10)).until(() -> !log.messages(Level.INFO).isEmpty());
            // Before: " failed: the client of tunnel t1 chosen for the stream was lost before the stream opened, ...".
            assertThat(log.messages(Level.INFO)).singleElement().asString()
                    .startsWith("TLS passthrough for secure.test from /127.0.0.1:")
                    .endsWith(" failed: " + why.description() + ": the server ended the connection of the client of"
                            + " tunnel t1 chosen for the stream before the stream opened, and no other client could"
                            + " take it");
        }
    }
}
