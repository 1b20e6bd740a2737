package io.picotunnel.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.server.auth.Secrets;
import io.picotunnel.server.tunnel.TunnelRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Connection state in the API comes from the server's real tunnel registry, and regenerating a token or deleting
 * a tunnel drops its client at once. The "client" here is a yamux session over a real loopback connection,
 * registered the way the tunnel endpoint registers one.
 */
class PresenceApiTest {

    @RegisterExtension
    final ApiTestServer running = new ApiTestServer();
    EventLoopGroup group;
    final List<Channel> listeners = new ArrayList<>();

    @BeforeEach
    void startEventLoop() {
        group = Transport.newEventLoopGroup(1, "presence-test");
    }

    @AfterEach
    void stop() {
        listeners.forEach(listener -> listener.close().awaitUninterruptibly(10, TimeUnit.SECONDS));
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }

    /** Connects a client session over loopback and registers the server side for {@code tunnelId}; returns the client side. */
    private Channel connectClient(String tunnelId) throws Exception {
        return connectClient(tunnelId, "1.0.0", "host-a");
    }

    private Channel connectClient(String tunnelId, String version, String hostname) throws Exception {
        return connectClient(tunnelId, null, version, hostname);
    }

    /** As above, for a client that came with the token whose SHA-256 is {@code tokenSha256}. */
    private Channel connectClient(String tunnelId, String tokenSha256, String version, String hostname)
            throws Exception {
        CompletableFuture<YamuxSession> serverSide = new CompletableFuture<>();
        Channel listener = new ServerBootstrap().group(group).channel(Transport.serverSocketChannel())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel channel) {
                        YamuxSession session = new YamuxSession(YamuxRole.SERVER, YamuxConfig.defaults(), null);
                        channel.pipeline().addLast(session);
                        serverSide.complete(session);
                    }
                })
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
        listeners.add(listener);
        Channel client = new Bootstrap().group(group).channel(Transport.socketChannel())
                .handler(new YamuxSession(YamuxRole.CLIENT, YamuxConfig.defaults(), null))
                .connect(listener.localAddress()).sync().channel();
        YamuxSession session = serverSide.get(10, TimeUnit.SECONDS);
        TunnelRegistry.Connection connection = running.server().registry().register(tunnelId, tokenSha256, session, version,
                hostname);
        session.parent().closeFuture().addListener(f -> running.server().registry().unregister(connection));
        return client;
    }

    private JsonNode createTunnel() {
        return running.api().post("/api/tunnels", "{\"name\": \"presence\"}").json();
    }

    @Test
    void connectedTunnelShowsSinceWhenAndCountsInHealth() throws Exception {
        String id = createTunnel().get("id").asText();
        Channel client = connectClient(id);

        JsonNode tunnel = running.api().get("/api/tunnels/" + id).json();

        assertThat(tunnel.get("connected").asBoolean()).isTrue();
        assertThat(OffsetDateTime.parse(tunnel.get("connected_since").asText())).isNotNull();
        assertThat(OffsetDateTime.parse(tunnel.get("last_seen_at").asText())).isNotNull();
        assertThat(running.api().get("/api/tunnels").json().get(0).get("connected").asBoolean()).isTrue();
        assertThat(running.api().get("/health").json().get("connected_tunnels").asInt()).isEqualTo(1);
        assertThat(client.isActive()).isTrue();
    }

    @Test
    void tunnelWithoutClientsHasAnEmptyClientsArray() {
        String id = createTunnel().get("id").asText();

        JsonNode tunnel = running.api().get("/api/tunnels/" + id).json();

        assertThat(tunnel.get("connected").asBoolean()).isFalse();
        assertThat(tunnel.get("clients").isArray()).isTrue();
        assertThat(tunnel.get("clients")).isEmpty();
        assertThat(running.api().get("/api/tunnels").json().get(0).get("clients")).isEmpty();
    }

    @Test
    void eachConnectedClientIsListedWithItsAddressVersionHostnameAndSince() throws Exception {
        String id = createTunnel().get("id").asText();
        Channel first = connectClient(id, "1.0.0", "host-a");
        Channel second = connectClient(id, null, null);

        JsonNode tunnel = running.api().get("/api/tunnels/" + id).json();

        assertThat(tunnel.get("connected").asBoolean()).isTrue();
        JsonNode clients = tunnel.get("clients");
        assertThat(clients).hasSize(2);
        for (JsonNode client : clients) {
            assertThat(fieldNames(client)).containsExactlyInAnyOrder("id", "remote_addr", "version", "hostname",
                    "connected_since");
            assertThat(client.get("id").asText()).matches("[0-9a-f]{16}");
            OffsetDateTime.parse(client.get("connected_since").asText());
        }
        assertThat(clients.get(0).get("id").asText()).isNotEqualTo(clients.get(1).get("id").asText());
        assertThat(clients.get(0).get("remote_addr").asText())
                .isEqualTo("127.0.0.1:" + ((InetSocketAddress) first.localAddress()).getPort());
        assertThat(clients.get(0).get("version").asText()).isEqualTo("1.0.0");
        assertThat(clients.get(0).get("hostname").asText()).isEqualTo("host-a");
        assertThat(clients.get(1).get("remote_addr").asText())
                .isEqualTo("127.0.0.1:" + ((InetSocketAddress) second.localAddress()).getPort());
        assertThat(clients.get(1).get("version").isNull()).isTrue();
        assertThat(clients.get(1).get("hostname").isNull()).isTrue();
        assertThat(tunnel.get("connected_since").asText()).isEqualTo(clients.get(0).get("connected_since").asText());
        assertThat(running.api().get("/health").json().get("connected_tunnels").asInt()).isEqualTo(1);

        second.close().sync();
        await().atMost(Duration.ofSeconds(10)).until(() -> running.api().get("/api/tunnels/" + id).json().get("clients").size() == 1);
        JsonNode after = running.api().get("/api/tunnels/" + id).json();
        assertThat(after.get("connected").asBoolean()).isTrue();
        assertThat(after.get("clients").get(0).get("id")).isEqualTo(clients.get(0).get("id"));
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    @Test
    void regeneratingTheTokenDropsEveryClientConnectedWithItAtOnce() throws Exception {
        JsonNode tunnel = createTunnel();
        String id = tunnel.get("id").asText();
        String tokenSha256 = Secrets.sha256Hex(tunnel.get("token").asText());
        Channel client = connectClient(id, tokenSha256, "1.0.0", "host-a");
        Channel other = connectClient(id, tokenSha256, "1.0.0", "host-b");

        JsonNode regenerated = running.api().post("/api/tunnels/" + id + "/regenerate", null).json();

        assertThat(regenerated.get("connected").asBoolean()).isFalse();
        assertThat(regenerated.get("clients")).isEmpty();
        assertThat(regenerated.get("connected_since").isNull()).isTrue();
        assertThat(regenerated.get("last_seen_at").isNull()).isFalse();
        assertThat(running.server().registry().isConnected(id)).isFalse();
        await().atMost(Duration.ofSeconds(10)).until(() -> !client.isActive() && !other.isActive());
        assertThat(running.api().get("/health").json().get("connected_tunnels").asInt()).isZero();
    }

    @Test
    void deletingTheTunnelDropsEveryConnectedClientAtOnce() throws Exception {
        String id = createTunnel().get("id").asText();
        Channel client = connectClient(id);
        Channel other = connectClient(id, "1.0.0", "host-b");

        assertThat(running.api().delete("/api/tunnels/" + id).status()).isEqualTo(204);

        assertThat(running.server().registry().isConnected(id)).isFalse();
        await().atMost(Duration.ofSeconds(10)).until(() -> !client.isActive() && !other.isActive());
    }
}
