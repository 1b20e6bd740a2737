package io.picotunnel.server.tunnel;

import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.ws.YamuxWebSocketFrameEncoder;
import io.picotunnel.protocol.yamux.YamuxFrameEncoder;
import io.picotunnel.server.store.Tunnel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.picotunnel.server.tunnel.RawTunnelClient.FLAG_RST;
import static io.picotunnel.server.tunnel.RawTunnelClient.FLAG_SYN;
import static io.picotunnel.server.tunnel.RawTunnelClient.TYPE_GO_AWAY;
import static io.picotunnel.server.tunnel.RawTunnelClient.TYPE_PING;
import static io.picotunnel.server.tunnel.RawTunnelClient.TYPE_WINDOW_UPDATE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The tunnel endpoint after the upgrade, seen by a hand-driven yamux peer over a real WebSocket. */
class TunnelEndpointSessionTest {

    private static final String TOKEN = "f".repeat(64);
    private static final Tunnel TUNNEL = new Tunnel("00000000000000aa", "raw", TOKEN, Instant.EPOCH, Instant.EPOCH);
    private static final Duration SHORT_KEEPALIVE = Duration.ofMillis(300);

    private final TunnelRegistry registry = new TunnelRegistry();
    private final HttpClient http = HttpClient.newHttpClient();
    private EventLoopGroup group;
    private final List<TunnelEndpoint> endpoints = new ArrayList<>();
    private int port;

    @BeforeEach
    void start() throws IOException {
        group = Transport.newEventLoopGroup(2, "tunnel-session-test");
        port = startEndpoint(TunnelEndpointConfig.defaults());
    }

    private int startEndpoint(TunnelEndpointConfig config) throws IOException {
        TunnelEndpoint endpoint = new TunnelEndpoint(config,
                RawPeerEndpoint.oneToken(TUNNEL), registry, group, group);
        endpoints.add(endpoint);
        return endpoint.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).getPort();
    }

    @AfterEach
    void stop() {
        endpoints.forEach(TunnelEndpoint::close);
        http.close();
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Test
    void connectedClientIsRegisteredUntilItCloses() {
        try (RawTunnelClient client = RawTunnelClient.connect(http, port, TOKEN)) {
            await().atMost(5, TimeUnit.SECONDS).until(() -> registry.isConnected(TUNNEL.id()));
            assertThat(client.isClosed()).isFalse();
        }
        await().atMost(5, TimeUnit.SECONDS).until(() -> !registry.isConnected(TUNNEL.id()));
        assertThat(registry.lastSeen(TUNNEL.id())).isPresent();
    }

    /** No copy of the frames through the yamux frame encoder and the byte stream codec: the performance path. */
    @Test
    void theSessionsFramesGoStraightIntoWebSocketFrames() {
        try (RawTunnelClient client = RawTunnelClient.connect(http, port, TOKEN)) {
            await().atMost(5, TimeUnit.SECONDS).until(() -> registry.connections(TUNNEL.id()).size() == 1);
            ChannelPipeline pipeline = registry.connections(TUNNEL.id()).getFirst().session().parent().pipeline();

            assertThat(pipeline.get(YamuxWebSocketFrameEncoder.class)).isNotNull();
            assertThat(pipeline.get(YamuxFrameEncoder.class)).isNull();
            assertThat(client.isClosed()).isFalse();
        }
    }

    @Test
    void streamsOpenedByTheClientAreReset() {
        try (RawTunnelClient client = RawTunnelClient.connect(http, port, TOKEN)) {
            client.send(RawTunnelClient.header(TYPE_WINDOW_UPDATE, FLAG_SYN, 1, 0));

            await().atMost(5, TimeUnit.SECONDS).until(() -> client.frames().stream()
                    .anyMatch(f -> f.streamId() == 1 && (f.flags() & FLAG_RST) != 0));
            assertThat(registry.isConnected(TUNNEL.id())).isTrue();
        }
    }

    @Test
    void secondConnectionWithTheSameTokenIsAddedAndNeitherGetsGoAway() {
        try (RawTunnelClient older = RawTunnelClient.connect(http, port, TOKEN)) {
            await().atMost(5, TimeUnit.SECONDS).until(() -> registry.connections(TUNNEL.id()).size() == 1);
            TunnelRegistry.Connection first = registry.connections(TUNNEL.id()).getFirst();

            try (RawTunnelClient newer = RawTunnelClient.connect(http, port, TOKEN)) {
                await().atMost(5, TimeUnit.SECONDS).until(() -> registry.connections(TUNNEL.id()).size() == 2);

                assertThat(registry.connections(TUNNEL.id())).first().isSameAs(first);
                assertThat(first.session().parent().isActive()).isTrue();
                assertThat(first.session().isGoingAway()).isFalse();
                assertThat(older.frames()).noneMatch(f -> f.type() == TYPE_GO_AWAY);
                assertThat(older.isClosed()).isFalse();
                assertThat(newer.isClosed()).isFalse();
                assertThat(registry.clients(TUNNEL.id())).extracting(ConnectedClient::id).doesNotHaveDuplicates();
            }
            await().atMost(5, TimeUnit.SECONDS).until(() -> registry.connections(TUNNEL.id()).size() == 1);
            assertThat(registry.connections(TUNNEL.id())).containsExactly(first);
        }
    }

    @Test
    void disconnectDropsEveryClientOfTheTunnelAtOnce() {
        try (RawTunnelClient one = RawTunnelClient.connect(http, port, TOKEN);
             RawTunnelClient two = RawTunnelClient.connect(http, port, TOKEN)) {
            await().atMost(5, TimeUnit.SECONDS).until(() -> registry.connections(TUNNEL.id()).size() == 2);
            List<TunnelRegistry.Connection> connections = registry.connections(TUNNEL.id());

            registry.disconnect(TUNNEL.id());

            assertThat(registry.isConnected(TUNNEL.id())).isFalse();
            assertThat(registry.clients(TUNNEL.id())).isEmpty();
            await().atMost(5, TimeUnit.SECONDS).until(() -> connections.stream()
                    .noneMatch(c -> c.session().parent().isActive()));
            await().atMost(5, TimeUnit.SECONDS).until(() -> one.frames().stream().anyMatch(f -> f.type() == TYPE_GO_AWAY)
                    && two.frames().stream().anyMatch(f -> f.type() == TYPE_GO_AWAY));
        }
    }

    @Test
    void clientThatNeverAnswersPingsIsDroppedAfterTwoKeepaliveIntervals() throws IOException {
        int shortKeepalivePort = startEndpoint(TunnelEndpointConfig.defaults().withKeepAliveInterval(SHORT_KEEPALIVE));
        try (RawTunnelClient client = RawTunnelClient.connect(http, shortKeepalivePort, TOKEN)) {
            await().atMost(5, TimeUnit.SECONDS).until(() -> registry.isConnected(TUNNEL.id()));

            await().atMost(10, TimeUnit.SECONDS).until(() -> !registry.isConnected(TUNNEL.id()));
            assertThat(client.frames()).anyMatch(f -> f.type() == TYPE_PING);
        }
    }

    @Test
    void frameAboveTheLimitClosesTheConnectionWithStatus1009() {
        try (RawTunnelClient client = RawTunnelClient.connect(http, port, TOKEN)) {
            await().atMost(5, TimeUnit.SECONDS).until(() -> registry.isConnected(TUNNEL.id()));

            client.sendAndForget(new byte[TunnelEndpointConfig.defaults().maxFramePayload() + 1]);

            await().atMost(5, TimeUnit.SECONDS).until(client::isClosed);
            assertThat(client.closeStatus()).isEqualTo(1009);
            await().atMost(5, TimeUnit.SECONDS).until(() -> !registry.isConnected(TUNNEL.id()));
        }
    }
}
