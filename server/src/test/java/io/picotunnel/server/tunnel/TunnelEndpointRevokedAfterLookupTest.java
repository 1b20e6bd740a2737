package io.picotunnel.server.tunnel;

import ch.qos.logback.classic.Level;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.concurrent.Future;
import io.picotunnel.protocol.ws.TunnelCloseStatus;
import io.picotunnel.server.store.HeldReads;
import io.picotunnel.server.store.Store;
import io.picotunnel.server.store.Tunnel;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.WebSocketFrameReader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A token regenerated or a tunnel deleted (in a real store) after the server looked the client's token up, before
 * its arrival was recorded: the registry's disconnect finds neither, and the recheck after its registration tells it.
 */
class TunnelEndpointRevokedAfterLookupTest {

    /**
     * The handshake timeout of the slow-recheck tests: long enough for the test to hold the store and, while the server
     * drains, to begin the drain between the token's look-up and the timeout on a loaded machine (500 ms were not: the
     * timeout sometimes closed the connection before the 101).
     */
    private static final Duration SLOW_RECHECK_TIMEOUT = Duration.ofSeconds(2);

    @TempDir
    Path data;
    private Store store;
    private Tunnel tunnel;
    private RawPeerEndpoint peer;

    @BeforeEach
    void start() throws IOException {
        store = Store.open(data);
        tunnel = store.createTunnel("demo");
        peer = RawPeerEndpoint.start(TunnelEndpointConfig.defaults(),
                TunnelTokens.of(store::findTunnelByToken, store::tunnel), 1, "revoked-after-lookup-test");
    }

    @AfterEach
    void stop() {
        peer.close();
        store.close();
    }

    @Test
    void aClientWhoseTokenIsRegeneratedAfterItsLookupGetsGoAwayThenTheTokenRegeneratedClose() throws Exception {
        assertThat(framesWhenRevokedAfterLookup(() -> store.regenerateToken(tunnel.id()).ifPresent(
                regenerated -> peer.registry().disconnect(tunnel.id(), regenerated.replacedTokenSha256()))))
                .containsSubsequence("GoAway", "close " + TunnelCloseStatus.TOKEN_REGENERATED.code());
    }

    @Test
    void aClientWhoseTunnelIsDeletedAfterItsLookupGetsGoAwayThenTheTunnelDeletedClose() throws Exception {
        assertThat(framesWhenRevokedAfterLookup(() -> {
            try {
                assertThat(store.deleteTunnel(tunnel.id())).isTrue();
            } catch (Exception e) {
                throw new AssertionError(e);
            }
            peer.registry().disconnect(tunnel.id());
        })).containsSubsequence("GoAway", "close " + TunnelCloseStatus.TUNNEL_DELETED.code());
    }

    /**
     * Told to go away before its registration, the client is never registered: neither the log nor the registry's
     * listeners (events, metrics, the UI's client list) see a client that connects only to leave.
     */
    @Test
    void aClientWhoseTokenIsRegeneratedAfterItsLookupIsNeitherRegisteredNorLoggedAsConnected() throws Exception {
        List<String> events = peer.recordClientEvents();
        try (LogCapture log = new LogCapture(TunnelHandshakeHandler.class, Level.INFO)) {
            assertThat(framesWhenRevokedAfterLookup(() -> store.regenerateToken(tunnel.id()).ifPresent(
                    regenerated -> peer.registry().disconnect(tunnel.id(), regenerated.replacedTokenSha256()))))
                    .containsSubsequence("GoAway", "close " + TunnelCloseStatus.TOKEN_REGENERATED.code());
            // Before: "client ... connected from ..." then "client ... disconnected", and both listener events.
            assertThat(log.messages(Level.INFO)).noneMatch(line -> line.contains("connected"))
                    .anyMatch(line -> line.contains("token was regenerated during the handshake, dropping the client"));
            assertThat(events).isEmpty();
            assertThat(peer.registry().connections(tunnel.id())).isEmpty();
        }
    }

    /**
     * The second look-up of the token fails (SQLite: the tunnels table is gone, renamed behind the store's back): the
     * client gets GoAway and the close frame of an internal error, not a bare close, and is not registered.
     */
    @Test
    void aClientWhoseTokenRecheckFailsGetsGoAwayThenTheInternalErrorClose() throws Exception {
        try (LogCapture log = new LogCapture(TunnelHandshakeHandler.class, Level.INFO)) {
            // Before: the connection closed without a close frame (EOF).
            assertThat(framesWhenRevokedAfterLookup(() -> {
                try (Connection other = DriverManager.getConnection("jdbc:sqlite:" + data.resolve(Store.DATABASE_FILE));
                     Statement statement = other.createStatement()) {
                    statement.execute("ALTER TABLE tunnels RENAME TO tunnels_gone");
                } catch (SQLException e) {
                    throw new AssertionError(e);
                }
            })).containsSubsequence("GoAway", "close " + TunnelCloseStatus.INTERNAL_ERROR.code());
            assertThat(log.messages(Level.ERROR)).singleElement().asString()
                    .contains("cannot recheck the token, dropping the client");
            assertThat(log.messages(Level.INFO)).noneMatch(line -> line.contains("connected"));
            assertThat(peer.registry().connections(tunnel.id())).isEmpty();
        }
    }

    /**
     * The token's recheck waits longer than the handshake timeout: other reads hold every read connection of the store
     * (long listings, exports). The client gets GoAway and the close frame of an internal error, not a bare close after
     * its 101, and a stream waiting for it fails at once instead of when the store answers.
     */
    @Test
    void aTokenRecheckSlowerThanTheHandshakeTimeoutEndsWithGoAwayThenTheInternalErrorClose() throws Exception {
        AtomicReference<Future<?>> waiting = new AtomicReference<>();
        try (LogCapture log = new LogCapture(TunnelHandshakeHandler.class, Level.INFO)) {
            // Before: the connection closed without a close frame (EOF) at the handshake timeout.
            List<String> frames = framesOfASlowRecheck("slow-recheck-test",
                    slow -> waiting.set(slow.registry().openStream(tunnel.id(), new ChannelInboundHandlerAdapter())),
                    slow -> {
                        await().atMost(Duration.ofSeconds(5)).until(() -> waiting.get().isDone());
                        assertThat(waiting.get().cause()).isInstanceOf(TunnelOfflineException.class);
                    });
            assertThat(frames).containsSubsequence("GoAway", "close " + TunnelCloseStatus.INTERNAL_ERROR.code());
            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .contains("the token's recheck took longer than the handshake timeout (2 s)");
        }
    }

    /**
     * The same slow recheck while the server drains for a shutdown: the client is told that the server stops (close
     * 4000), so that it waits and reconnects to the server that comes back, not that the server failed (1011).
     */
    @Test
    void aTokenRecheckSlowerThanTheHandshakeTimeoutWhileTheServerDrainsEndsWithGoAwayThenTheServerStoppingClose()
            throws Exception {
        List<String> frames = framesOfASlowRecheck("slow-recheck-drain-test",
                slow -> assertThat(slow.endpoint().drain(Duration.ofSeconds(5))).as("no stream open").isZero(),
                slow -> { });
        assertThat(frames).containsExactly("GoAway", "close " + TunnelCloseStatus.SERVER_STOPPING.code());
    }

    /**
     * The slow recheck given up at the handshake timeout is cancelled: its read stops waiting for a read connection at
     * once, and its thread is free, instead of waiting on for a client already told to go away.
     */
    @Test
    void aTokenRecheckGivenUpAtTheHandshakeTimeoutStopsWaitingForAReadConnection() throws Exception {
        List<RuntimeException> lookupFailures = new CopyOnWriteArrayList<>();
        TunnelTokens recordingFailures = TunnelTokens.of(token -> {
            try {
                return store.findTunnelByToken(token);
            } catch (RuntimeException e) {
                lookupFailures.add(e);
                throw e;
            }
        }, store::tunnel);
        List<String> frames = framesOfASlowRecheck("given-up-recheck-test", recordingFailures, slow -> { }, slow -> {
            // Before: the recheck waited on for a read connection until the read wait (5 s) failed it as busy.
            await().atMost(Duration.ofSeconds(2)).until(() -> !lookupFailures.isEmpty());
            assertThat(lookupFailures).singleElement().extracting(Throwable::getMessage).asString()
                    .startsWith("Interrupted while waiting for a read connection");
        });
        assertThat(frames).containsSubsequence("GoAway", "close " + TunnelCloseStatus.INTERNAL_ERROR.code());
    }

    private List<String> framesOfASlowRecheck(String name, Consumer<RawPeerEndpoint> upgraded,
                                              Consumer<RawPeerEndpoint> whileHeld) throws Exception {
        return framesOfASlowRecheck(name, TunnelTokens.of(store::findTunnelByToken, store::tunnel), upgraded, whileHeld);
    }

    /**
     * What a raw client reads when its token's recheck waits longer than the handshake timeout, other reads holding
     * every read connection of the store: {@code upgraded} runs once it has its 101, {@code whileHeld} once it read
     * all while the reads still hold them. Once they end, no connection of the tunnel is left.
     */
    private List<String> framesOfASlowRecheck(String name, TunnelTokens tokens, Consumer<RawPeerEndpoint> upgraded,
                                              Consumer<RawPeerEndpoint> whileHeld) throws Exception {
        AtomicReference<HeldReads> longReads = new AtomicReference<>();
        try (RawPeerEndpoint slow = RawPeerEndpoint.start(
                TunnelEndpointConfig.defaults().withHandshakeTimeout(SLOW_RECHECK_TIMEOUT), tokens, 1, name)) {
            List<String> frames = framesAfterLookup(slow,
                    () -> longReads.set(HeldReads.ofEveryConnection(store.database())), client -> upgraded.accept(slow));
            whileHeld.accept(slow);
            assertThat(longReads.get().ended()).as("the recheck still waits for the store").isNotDone();
            longReads.get().release();
            longReads.get().ended().get(10, TimeUnit.SECONDS);
            assertThat(slow.registry().connections(tunnel.id())).isEmpty();
            return frames;
        } finally {
            releaseAll(longReads.get());
        }
    }

    /**
     * A client that leaves after its 101 while the token's recheck waits for the store: the streams waiting for it fail
     * at once, not when the store answers or the arrival wait passes.
     */
    @Test
    void aClientThatLeavesDuringASlowTokenRecheckFailsTheStreamsWaitingForItAtOnce() throws Exception {
        HeldReads longReads = null;
        try {
            CompletableFuture<Runnable> held = new CompletableFuture<>();
            peer.registry().lookedUp = (channel, proceed) -> held.complete(proceed);
            CompletableFuture<Socket> upgrade = CompletableFuture.supplyAsync(() -> {
                try {
                    return peer.upgrade(tunnel.token(), "");
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            Runnable proceed = held.get(5, TimeUnit.SECONDS);
            longReads = HeldReads.ofEveryConnection(store.database());
            proceed.run();
            Socket client = upgrade.get(10, TimeUnit.SECONDS);
            Future<?> waiting = peer.registry().openStream(tunnel.id(), new ChannelInboundHandlerAdapter());
            client.close();
            // Before: the stream waited for the store's answer, or for the arrival wait (5 s).
            await().atMost(Duration.ofSeconds(2)).until(waiting::isDone);
            assertThat(longReads.ended()).isNotDone();
            assertThat(waiting.cause()).isInstanceOf(TunnelOfflineException.class);
            longReads.release();
            longReads.ended().get(10, TimeUnit.SECONDS);
            assertThat(peer.registry().connections(tunnel.id())).isEmpty();
        } finally {
            releaseAll(longReads);
        }
    }

    /** Releases the long reads, when they were started. */
    private static void releaseAll(HeldReads longReads) {
        if (longReads != null) {
            longReads.release();
        }
    }

    /** Upgrades a raw client, runs {@code revoke} after its token lookup, then reads what the server sends it. */
    private List<String> framesWhenRevokedAfterLookup(Runnable revoke) throws Exception {
        return framesAfterLookup(peer, revoke, client -> { });
    }

    /**
     * Upgrades a raw client to {@code endpoint}, runs {@code afterLookup} after its token lookup and {@code upgraded}
     * after its 101, then reads what the server sends it.
     */
    private List<String> framesAfterLookup(RawPeerEndpoint endpoint, Runnable afterLookup, Consumer<Socket> upgraded)
            throws Exception {
        CompletableFuture<Runnable> held = new CompletableFuture<>();
        endpoint.registry().lookedUp = (channel, proceed) -> held.complete(proceed);
        CompletableFuture<Socket> upgrade = CompletableFuture.supplyAsync(() -> {
            try {
                return endpoint.upgrade(tunnel.token(), TunnelHandshakeHandler.VERSION_HEADER + ": 1.0.0\r\n");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        Runnable proceed = held.get(5, TimeUnit.SECONDS);
        afterLookup.run();
        proceed.run();
        try (Socket client = upgrade.get(10, TimeUnit.SECONDS)) {
            upgraded.accept(client);
            return TunnelEndpointDrainTest.framesUntilClose(
                    new WebSocketFrameReader(client, 1 << 16, Duration.ofSeconds(10)));
        }
    }
}
