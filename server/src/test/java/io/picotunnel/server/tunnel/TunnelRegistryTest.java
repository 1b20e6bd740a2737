package io.picotunnel.server.tunnel;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.ws.TunnelCloseStatus;
import io.picotunnel.protocol.yamux.GoAwayCode;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Field;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Which client of a tunnel a new stream goes to. Each "client" is a yamux session in the client role over a
 * real loopback connection that keeps every stream the server opens; the server side is registered as the
 * tunnel endpoint registers it.
 */
class TunnelRegistryTest {

    private static final String TUNNEL = "00000000000000cc";

    private final TunnelRegistry registry = new TunnelRegistry();
    private final List<Channel> channels = new ArrayList<>();
    private EventLoopGroup group;

    @BeforeEach
    void start() {
        group = Transport.newEventLoopGroup(2, "registry-test");
    }

    @AfterEach
    void stop() {
        channels.forEach(c -> c.close().awaitUninterruptibly(5, TimeUnit.SECONDS));
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }

    /** Keeps every stream the server opens, reading and dropping what arrives. */
    @ChannelHandler.Sharable
    private static final class KeepStreams extends ChannelInboundHandlerAdapter {
        static final KeepStreams INSTANCE = new KeepStreams();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }
    }

    private TunnelRegistry.Connection connectClient(YamuxConfig serverConfig) throws Exception {
        return connectClient(TUNNEL, serverConfig);
    }

    private TunnelRegistry.Connection connectClient(String tunnelId, YamuxConfig serverConfig) throws Exception {
        return connectClient(tunnelId, null, serverConfig);
    }

    private TunnelRegistry.Connection connectClient(String tunnelId, String tokenSha256, YamuxConfig serverConfig)
            throws Exception {
        YamuxSession session = serverSession(serverConfig);
        TunnelRegistry.Connection connection = registry.register(tunnelId, tokenSha256, session, null, null);
        session.parent().closeFuture().addListener(f -> registry.unregister(connection));
        return connection;
    }

    /** The server side of a client's session, not registered. */
    private YamuxSession serverSession(YamuxConfig serverConfig) throws Exception {
        CompletableFuture<YamuxSession> serverSide = new CompletableFuture<>();
        Channel listener = new ServerBootstrap().group(group).channel(Transport.serverSocketChannel())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel channel) {
                        YamuxSession session = new YamuxSession(YamuxRole.SERVER, serverConfig, null);
                        channel.pipeline().addLast(session);
                        serverSide.complete(session);
                    }
                })
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
        channels.add(listener);
        Channel client = new Bootstrap().group(group).channel(Transport.socketChannel())
                .handler(new YamuxSession(YamuxRole.CLIENT, YamuxConfig.defaults(), KeepStreams.INSTANCE))
                .connect(listener.localAddress()).sync().channel();
        channels.add(client);
        return serverSide.get(10, TimeUnit.SECONDS);
    }

    private Channel openThroughRegistry() throws Exception {
        return registry.openStream(TUNNEL, KeepStreams.INSTANCE).get(10, TimeUnit.SECONDS).parent();
    }

    private static void openDirectly(TunnelRegistry.Connection connection, int count) throws Exception {
        for (int i = 0; i < count; i++) {
            connection.session().openStream(KeepStreams.INSTANCE).get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void newStreamGoesToTheClientWithTheFewestOpenStreamsAndEqualsTakeTurns() throws Exception {
        TunnelRegistry.Connection busy = connectClient(YamuxConfig.defaults());
        TunnelRegistry.Connection idle = connectClient(YamuxConfig.defaults());
        openDirectly(busy, 3);

        List<Channel> chosen = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            chosen.add(openThroughRegistry());
        }
        assertThat(chosen).allMatch(c -> c == idle.session().parent());

        for (int i = 0; i < 6; i++) {
            openThroughRegistry();
        }
        assertThat(busy.session().activeStreams()).isEqualTo(6);
        assertThat(idle.session().activeStreams()).isEqualTo(6);
        assertThat(busy.streamsOpened()).isEqualTo(3);
        assertThat(idle.streamsOpened()).isEqualTo(6);
    }

    @Test
    void whenTheChosenClientRefusesTheStreamTheNextOneIsTried() throws Exception {
        TunnelRegistry.Connection full = connectClient(YamuxConfig.defaults().withMaxStreams(1));
        TunnelRegistry.Connection other = connectClient(YamuxConfig.defaults());
        openDirectly(full, 1);
        openDirectly(other, 2);

        Channel chosen = openThroughRegistry();

        assertThat(chosen).isSameAs(other.session().parent());
        assertThat(other.session().activeStreams()).isEqualTo(3);
        assertThat(full.session().activeStreams()).isEqualTo(1);
    }

    @Test
    void aStreamOpenedElsewhereSkipsTheClientsThatRefusedItAndFailsOfflineAtOnceWhenNoneIsLeft() throws Exception {
        TunnelRegistry.Connection refusing = connectClient(YamuxConfig.defaults());
        TunnelRegistry.Connection other = connectClient(YamuxConfig.defaults());
        openDirectly(other, 2);

        Channel chosen = registry.openStream(TUNNEL, KeepStreams.INSTANCE, null, Set.of(refusing.session()))
                .get(10, TimeUnit.SECONDS).parent();

        assertThat(chosen).as("not the least loaded, which refused").isSameAs(other.session().parent());
        Future<YamuxStreamChannel> none = registry.openStream(TUNNEL, KeepStreams.INSTANCE, null,
                Set.of(refusing.session(), other.session()));
        assertThat(none.isDone()).isTrue();
        assertThat(none.cause()).isInstanceOf(TunnelOfflineException.class);
        assertThat(refusing.session().activeStreams()).isZero();
    }

    @Test
    void clientThatIsGoingAwayGetsNoNewStreamsButStaysListed() throws Exception {
        TunnelRegistry.Connection leaving = connectClient(YamuxConfig.defaults());
        TunnelRegistry.Connection staying = connectClient(YamuxConfig.defaults());
        openDirectly(staying, 5);

        leaving.session().goAway(GoAwayCode.NORMAL);
        await().atMost(5, TimeUnit.SECONDS).until(() -> leaving.session().isGoingAway());

        for (int i = 0; i < 3; i++) {
            assertThat(openThroughRegistry()).isSameAs(staying.session().parent());
        }
        assertThat(registry.connections(TUNNEL)).containsExactly(leaving, staying);
    }

    @Test
    void clientThatLeftTakesOnlyItsOwnStreamsAndNewOnesGoToTheOther() throws Exception {
        TunnelRegistry.Connection leaving = connectClient(YamuxConfig.defaults());
        TunnelRegistry.Connection staying = connectClient(YamuxConfig.defaults());
        List<YamuxStreamChannel> streams = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            streams.add(registry.openStream(TUNNEL, KeepStreams.INSTANCE).get(10, TimeUnit.SECONDS));
        }

        leaving.session().parent().close().sync();
        await().atMost(5, TimeUnit.SECONDS).until(() -> registry.connections(TUNNEL).size() == 1);

        assertThat(streams).filteredOn(s -> s.parent() == staying.session().parent()).hasSize(2)
                .allMatch(Channel::isActive);
        assertThat(staying.session().activeStreams()).isEqualTo(2);
        assertThat(openThroughRegistry()).isSameAs(staying.session().parent());
        assertThat(registry.isConnected(TUNNEL)).isTrue();
    }

    @Test
    void tunnelWithNoClientThatCanTakeStreamsFailsAsOffline() throws Exception {
        assertThatThrownBy(() -> registry.openStream(TUNNEL, KeepStreams.INSTANCE).get(10, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(TunnelOfflineException.class);

        TunnelRegistry.Connection leaving = connectClient(YamuxConfig.defaults());
        leaving.session().goAway(GoAwayCode.NORMAL);
        await().atMost(5, TimeUnit.SECONDS).until(() -> leaving.session().isGoingAway());

        Future<YamuxStreamChannel> opened = registry.openStream(TUNNEL, KeepStreams.INSTANCE);
        assertThat(opened.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(opened.cause()).isInstanceOf(TunnelOfflineException.class);
    }

    @Test
    void aStreamWaitsForAClientUnderWayAtMostTheArrivalWaitThenFailsAsOffline() throws Exception {
        registry.arrivalWait = Duration.ofMillis(300);
        registry.arriving(TUNNEL, null, group.next());
        long start = System.nanoTime();

        Future<YamuxStreamChannel> opened = registry.openStream(TUNNEL, KeepStreams.INSTANCE);

        assertThat(opened.isDone()).as("waits for the client under way").isFalse();
        assertThat(opened.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(opened.cause()).isInstanceOf(TunnelOfflineException.class);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(300));
    }

    @Test
    void aClientGivenUpWhileAnotherIsStillUnderWayKeepsTheStreamWaitingForThatOne() throws Exception {
        // Longer than the await below: only the second client given up can end the wait.
        registry.arrivalWait = Duration.ofMinutes(1);
        TunnelRegistry.Arrival givenUp = registry.arriving(TUNNEL, null, group.next());
        TunnelRegistry.Arrival coming = registry.arriving(TUNNEL, null, group.next());
        Future<YamuxStreamChannel> opened = registry.openStream(TUNNEL, KeepStreams.INSTANCE);

        givenUp.abandon();
        assertThat(opened.isDone()).as("still waits for the other").isFalse();
        coming.abandon();

        assertThat(opened.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(opened.cause()).isInstanceOf(TunnelOfflineException.class);
        assertThat(registry.waitingStreams(TUNNEL)).isZero();
    }

    @Test
    void onceTheServerStopsAStreamForATunnelWhoseClientIsUnderWayFailsAtOnceAndTheClientThatRegistersGetsNone()
            throws Exception {
        registry.arrivalWait = Duration.ofMinutes(1);
        TunnelRegistry.Arrival coming = registry.arriving(TUNNEL, null, group.next());
        registry.serverStopping();

        Future<YamuxStreamChannel> opened = registry.openStream(TUNNEL, KeepStreams.INSTANCE);
        assertThat(opened.isDone()).as("fails at once, without waiting for the client under way").isTrue();
        YamuxSession session = serverSession(YamuxConfig.defaults());
        assertThat(coming.register(session, null, null)).isNotNull();

        assertThat(opened.cause()).isInstanceOf(TunnelOfflineException.class);
        assertThat(((TunnelOfflineException) opened.cause()).endedBy()).isEqualTo(TunnelCloseStatus.SERVER_STOPPING);
        assertThat(session.activeStreams()).isZero();
    }

    @Test
    void aStreamWaitingForAClientUnderWayFailsWhenTheServerStopsAndTheClientThatRegistersGetsNone() throws Exception {
        registry.arrivalWait = Duration.ofMinutes(1);
        TunnelRegistry.Arrival coming = registry.arriving(TUNNEL, null, group.next());
        Future<YamuxStreamChannel> opened = registry.openStream(TUNNEL, KeepStreams.INSTANCE);
        assertThat(opened.isDone()).as("waits for the client under way").isFalse();

        registry.serverStopping();
        YamuxSession session = serverSession(YamuxConfig.defaults());
        assertThat(coming.register(session, null, null)).isNotNull();

        assertThat(opened.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(opened.cause()).isInstanceOf(TunnelOfflineException.class);
        assertThat(((TunnelOfflineException) opened.cause()).endedBy()).isEqualTo(TunnelCloseStatus.SERVER_STOPPING);
        assertThat(session.activeStreams()).isZero();
        assertThat(registry.waitingStreams(TUNNEL)).isZero();
    }

    @Test
    void aStreamWhoseChosenClientDropsOnceTheServerStopsFailsAndIsNotMovedToAnotherClient() throws Exception {
        TunnelRegistry.Connection dropping = connectClient(YamuxConfig.defaults());
        TunnelRegistry.Connection other = connectClient(YamuxConfig.defaults());
        openDirectly(other, 1);
        // Holds the chosen client's loop until the server stops, then drops its connection before the open runs.
        CountDownLatch stopped = new CountDownLatch(1);
        dropping.loop().execute(() -> {
            try {
                stopped.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            dropping.session().parent().close();
        });

        Future<YamuxStreamChannel> opened = registry.openStream(TUNNEL, KeepStreams.INSTANCE);
        registry.serverStopping();
        stopped.countDown();

        assertThat(opened.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(opened.cause()).isInstanceOf(TunnelOfflineException.class);
        assertThat(((TunnelOfflineException) opened.cause()).endedBy()).isEqualTo(TunnelCloseStatus.SERVER_STOPPING);
        assertThat(other.session().activeStreams()).as("the other client opened no stream").isEqualTo(1);
        assertThat(other.streamsOpened()).isZero();
    }

    /**
     * The server gave up on the chosen client with a GoAway of its own (here for a protocol error, as for an unanswered
     * ping) once the drain began but before the drain's GoAway: the client was lost, the stop is not why.
     */
    @Test
    void aClientTheServerGaveUpOnInTheDrainsFirstStepsIsLostNotStoppedByTheDrain() throws Exception {
        TunnelRegistry.Connection cut = connectClient(YamuxConfig.defaults());
        // a frame of yamux version 9: the session sends GoAway(protocol error) and closes
        Future<YamuxStreamChannel> opened = openOnceTheServerStops(cut, () -> cut.session().parent().pipeline()
                .fireChannelRead(Unpooled.wrappedBuffer(new byte[] {9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})));

        assertThat(cut.session().isGoingAway()).as("the session's own GoAway").isTrue();
        assertThat(opened.cause()).isInstanceOfSatisfying(TunnelOfflineException.class, offline -> {
            assertThat(offline.clientLost()).as("lost: " + offline.getMessage()).isTrue();
            assertThat(offline.endedBy()).isNotEqualTo(TunnelCloseStatus.SERVER_STOPPING);
        });
    }

    @Test
    void aClientSentTheDrainsGoAwayAfterItWasChosenWasNotLostTheServerStops() throws Exception {
        TunnelRegistry.Connection chosen = connectClient(YamuxConfig.defaults());
        Future<YamuxStreamChannel> opened = openOnceTheServerStops(chosen,
                () -> WebSocketControlFrames.goAwayForStop(chosen.session().parent(), chosen.session()));

        assertThat(opened.cause()).isInstanceOfSatisfying(TunnelOfflineException.class, offline -> {
            assertThat(offline.clientLost()).isFalse();
            assertThat(offline.endedBy()).isEqualTo(TunnelCloseStatus.SERVER_STOPPING);
        });
    }

    /**
     * A stream for the tunnel whose only client is {@code chosen}, its open held on the client's loop until the server
     * stopped and {@code thenOnItsLoop} ran there; done.
     */
    private Future<YamuxStreamChannel> openOnceTheServerStops(TunnelRegistry.Connection chosen, Runnable thenOnItsLoop)
            throws Exception {
        CountDownLatch stopped = new CountDownLatch(1);
        chosen.loop().execute(() -> {
            try {
                stopped.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            thenOnItsLoop.run();
        });
        Future<YamuxStreamChannel> opened = registry.openStream(TUNNEL, KeepStreams.INSTANCE);
        registry.serverStopping();
        stopped.countDown();
        assertThat(opened.await(10, TimeUnit.SECONDS)).isTrue();
        return opened;
    }

    @Test
    void aClientRegisteredOnceTheServerStopsDoesNotTakeAStreamThatLookedForOneBefore() throws Exception {
        YamuxSession session = serverSession(YamuxConfig.defaults());
        TunnelRegistry.Arrival coming = registry.arriving(TUNNEL, null, group.next());
        CompletableFuture<Future<YamuxStreamChannel>> opened = new CompletableFuture<>();
        Thread opener = new Thread(() -> opened.complete(registry.openStream(TUNNEL, KeepStreams.INSTANCE)));
        // The registry's lock on arrivals, held here, stops the opener between its first look for a client (none yet)
        // and its look for one under way; meanwhile the server stops and the client under way registers.
        Object arrivalsLock = arrivalsLock();
        synchronized (arrivalsLock) {
            opener.start();
            await().atMost(10, TimeUnit.SECONDS).until(() -> opener.getState() == Thread.State.BLOCKED);
            registry.serverStopping();
            assertThat(coming.register(session, null, null)).isNotNull();
        }

        Future<YamuxStreamChannel> stream = opened.get(10, TimeUnit.SECONDS);
        assertThat(stream.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(stream.cause()).isInstanceOf(TunnelOfflineException.class);
        assertThat(((TunnelOfflineException) stream.cause()).endedBy()).isEqualTo(TunnelCloseStatus.SERVER_STOPPING);
        assertThat(session.activeStreams()).as("the client registered after the stop opened no stream").isZero();
    }

    private Object arrivalsLock() throws ReflectiveOperationException {
        Field arrivals = TunnelRegistry.class.getDeclaredField("arrivals");
        arrivals.setAccessible(true);
        return arrivals.get(registry);
    }

    @Test
    void amongEquallyLoadedClientsTheOneOnTheCallersLoopTakesTheStream() throws Exception {
        assertThat(registry.loopOfNextStream(TUNNEL)).as("no client").isNull();
        TunnelRegistry.Connection first = connectClient(YamuxConfig.defaults());
        TunnelRegistry.Connection second = connectClient(YamuxConfig.defaults());
        EventLoop secondLoop = second.session().parent().eventLoop();
        assertThat(first.session().parent().eventLoop()).as("the two sessions on different loops").isNotSameAs(secondLoop);

        // Without a preference equals take turns; with one, the session on that loop wins every time.
        for (int i = 0; i < 4; i++) {
            YamuxStreamChannel stream = registry.openStream(TUNNEL, KeepStreams.INSTANCE, secondLoop)
                    .get(10, TimeUnit.SECONDS);
            assertThat(stream.parent()).isSameAs(second.session().parent());
            stream.reset();
            await().atMost(5, TimeUnit.SECONDS).until(() -> second.session().activeStreams() == 0);
        }
        // A lighter load still wins over the loop.
        openDirectly(second, 1);
        assertThat(registry.openStream(TUNNEL, KeepStreams.INSTANCE, secondLoop).get(10, TimeUnit.SECONDS).parent())
                .isSameAs(first.session().parent());
        assertThat(registry.loopOfNextStream(TUNNEL)).as("the least loaded now: both have one")
                .isIn(first.session().parent().eventLoop(), secondLoop);
        openDirectly(first, 1);
        assertThat(registry.loopOfNextStream(TUNNEL)).isSameAs(secondLoop);
    }

    @Test
    void soleClientLoopIsNamedOnlyWhileEveryClientSharesOneLoop() throws Exception {
        assertThat(registry.soleClientLoop()).as("no client").isNull();
        TunnelRegistry.Connection first = connectClient(YamuxConfig.defaults());
        assertThat(registry.soleClientLoop()).isSameAs(first.session().parent().eventLoop());

        TunnelRegistry.Connection second = connectClient(YamuxConfig.defaults());
        assertThat(second.session().parent().eventLoop()).as("precondition: another loop")
                .isNotSameAs(first.session().parent().eventLoop());
        assertThat(registry.soleClientLoop()).as("clients on two loops").isNull();

        second.session().parent().close().sync();
        await().atMost(5, TimeUnit.SECONDS).until(() -> registry.connections(TUNNEL).size() == 1);
        assertThat(registry.soleClientLoop()).isSameAs(first.session().parent().eventLoop());
    }

    @Test
    void soleClientLoopIsTheRemainingClientsOnceAnotherTunnelIsDisconnected() throws Exception {
        TunnelRegistry.Connection kept = connectClient(YamuxConfig.defaults());
        TunnelRegistry.Connection dropped = connectClient("00000000000000dd", YamuxConfig.defaults());
        assertThat(dropped.session().parent().eventLoop()).as("precondition: another loop")
                .isNotSameAs(kept.session().parent().eventLoop());
        assertThat(registry.soleClientLoop()).as("clients on two loops").isNull();

        registry.disconnect("00000000000000dd");

        await().atMost(5, TimeUnit.SECONDS).until(() -> !dropped.session().parent().isActive());
        assertThat(registry.soleClientLoop()).as("visitors go to the loop of the client that is left")
                .isSameAs(kept.session().parent().eventLoop());
    }

    @Test
    void aRegeneratedTokenDropsTheClientsThatCameWithItAndKeepsThoseThatCameWithALaterToken() throws Exception {
        registry.arrivalWait = Duration.ofMinutes(1);
        TunnelRegistry.Connection old = connectClient(TUNNEL, "old", YamuxConfig.defaults());
        TunnelRegistry.Connection current = connectClient(TUNNEL, "current", YamuxConfig.defaults());
        TunnelRegistry.Arrival oldUnderWay = registry.arriving(TUNNEL, "old", group.next());
        TunnelRegistry.Arrival currentUnderWay = registry.arriving(TUNNEL, "current", group.next());

        // As a regenerate whose token was overtaken by another's: "current" came with the later one.
        registry.disconnect(TUNNEL, "old");

        await().atMost(5, TimeUnit.SECONDS).until(() -> !old.session().parent().isActive());
        assertThat(registry.connections(TUNNEL)).containsExactly(current);
        assertThat(current.session().parent().isActive()).as("the client with the later token").isTrue();
        assertThat(oldUnderWay.register(serverSession(YamuxConfig.defaults()), null, null))
                .as("the client under way with the old token").isNull();
        assertThat(currentUnderWay.register(serverSession(YamuxConfig.defaults()), null, null))
                .as("the client under way with the later token").isNotNull();
        assertThat(registry.connections(TUNNEL)).hasSize(2);
    }
}
