package io.picotunnel.server.monitor;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.TlsMode;
import io.picotunnel.server.tunnel.TunnelRegistry;
import io.picotunnel.testkit.SilentPeer;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
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

    /**
     * Starts a check of an http service of tunnel {@code t1} while the session's loop is held, and once the check chose
     * this client runs {@code onTheLoop} there: it runs before the stream's open, queued behind it.
     */
    CompletableFuture<Check> checkWhileTheLoopIsHeld(Runnable onTheLoop) throws InterruptedException {
        Probes probes = new Probes(registry, Duration.ofSeconds(5), Clock.systemUTC());
        Service service = new Service("s1", TUNNEL_ID, ServiceType.HTTP, "app.test", "/", TlsMode.TERMINATE, null,
                "127.0.0.1:9", true, Instant.now());
        CountDownLatch holding = new CountDownLatch(1);
        CountDownLatch chosen = new CountDownLatch(1);
        parent.eventLoop().execute(() -> {
            holding.countDown();
            try {
                chosen.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            onTheLoop.run();
        });
        if (!holding.await(10, TimeUnit.SECONDS)) {
            throw new IllegalStateException("the session's loop was not held within 10 s");
        }
        CompletableFuture<Check> check = probes.service(service, ServiceCheckSettings.DEFAULT);
        chosen.countDown();
        return check;
    }

    @Override
    public void close() {
        parent.close().awaitUninterruptibly(10, TimeUnit.SECONDS);
        peer.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }
}
