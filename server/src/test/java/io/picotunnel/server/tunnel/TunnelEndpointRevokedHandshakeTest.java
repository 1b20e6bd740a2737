package io.picotunnel.server.tunnel;

import io.picotunnel.protocol.ws.TunnelCloseStatus;
import io.picotunnel.server.auth.Secrets;
import io.picotunnel.server.store.Tunnel;
import io.picotunnel.testkit.WebSocketFrameReader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.Socket;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A token regenerated or a tunnel deleted while a client is under way: its 101 sent, its registration held back by
 * the registry's test hook until the revocation is done.
 */
class TunnelEndpointRevokedHandshakeTest {

    private static final String TOKEN = "c".repeat(64);
    private static final Tunnel TUNNEL = new Tunnel("0123456789abcdef", "demo", TOKEN, Instant.EPOCH, Instant.EPOCH);

    private RawPeerEndpoint peer;

    @BeforeEach
    void start() throws IOException {
        peer = RawPeerEndpoint.start(TunnelEndpointConfig.defaults(), TUNNEL, 1, "revoked-handshake-test");
    }

    @AfterEach
    void stop() {
        peer.close();
    }

    @Test
    void aClientUnderWayWhenItsTokenIsRegeneratedGetsGoAwayThenTheTokenRegeneratedClose() throws Exception {
        assertThat(framesWhenRevokedUnderWay(() -> peer.registry().disconnect(TUNNEL.id(), Secrets.sha256Hex(TOKEN))))
                .containsSubsequence("GoAway", "close " + TunnelCloseStatus.TOKEN_REGENERATED.code());
    }

    @Test
    void aClientUnderWayWhenItsTunnelIsDeletedGetsGoAwayThenTheTunnelDeletedClose() throws Exception {
        assertThat(framesWhenRevokedUnderWay(() -> peer.registry().disconnect(TUNNEL.id())))
                .containsSubsequence("GoAway", "close " + TunnelCloseStatus.TUNNEL_DELETED.code());
        assertThat(peer.registry().connections(TUNNEL.id())).isEmpty();
    }

    /**
     * The server read nothing from the client since its 101: what the client sent meanwhile (a ping) and its answer
     * to the close frame are read, and the connection ends with the server's FIN, not a reset.
     */
    @Test
    void aClientUnderWayWhenItsTokenIsRegeneratedHasItsCloseAnswerReadThenTheConnectionEnds() throws Exception {
        CompletableFuture<Runnable> held = new CompletableFuture<>();
        peer.registry().registration = (channel, register) -> held.complete(() -> channel.eventLoop().execute(register));
        try (Socket client = peer.upgrade(TOKEN, TunnelHandshakeHandler.VERSION_HEADER + ": 1.0.0\r\n")) {
            Runnable register = held.get(5, TimeUnit.SECONDS);
            client.getOutputStream().write(TunnelEndpointDrainTest.EMPTY_PING);
            peer.registry().disconnect(TUNNEL.id(), Secrets.sha256Hex(TOKEN));
            register.run();
            // Before: the answer's write failed, "Connection reset by peer".
            TunnelEndpointDrainTest.assertTheCloseAnswerIsReadThenTheConnectionEnds(client,
                    TunnelCloseStatus.TOKEN_REGENERATED);
        }
    }

    /** Upgrades a raw client, runs {@code revoke} before its registration, then reads what the server sends it. */
    private List<String> framesWhenRevokedUnderWay(Runnable revoke) throws Exception {
        CompletableFuture<Runnable> held = new CompletableFuture<>();
        peer.registry().registration = (channel, register) -> held.complete(() -> channel.eventLoop().execute(register));
        try (Socket client = peer.upgrade(TOKEN, TunnelHandshakeHandler.VERSION_HEADER + ": 1.0.0\r\n")) {
            Runnable register = held.get(5, TimeUnit.SECONDS);
            revoke.run();
            register.run();
            return TunnelEndpointDrainTest.framesUntilClose(
                    new WebSocketFrameReader(client, 1 << 16, Duration.ofSeconds(10)));
        }
    }
}
