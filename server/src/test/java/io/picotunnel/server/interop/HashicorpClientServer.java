package io.picotunnel.server.interop;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.ServerConfig;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.testbed.TcpServicePorts;
import io.picotunnel.testkit.GoPeer;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Our server on loopback for hashicorp/yamux clients (the Go peer's tunnel-client mode): tunnels and tcp services
 * made through the API, clients started with a tunnel's token.
 */
final class HashicorpClientServer implements AutoCloseable {

    private static final String ADMIN_TOKEN = "interop-admin-token-0123456789abcdef";

    final PicoTunnelServer server;
    final ApiClient api;
    private final List<GoPeer> clients = new CopyOnWriteArrayList<>();

    HashicorpClientServer(Path dataDir) {
        this(dataDir, Map.of());
    }

    /** The server with {@code settings} on top of the defaults. */
    HashicorpClientServer(Path dataDir, Map<Setting, String> settings) {
        Map<Setting, String> all = new EnumMap<>(Setting.class);
        all.putAll(settings);
        all.put(Setting.ADMIN_TOKEN, ADMIN_TOKEN);
        server = PicoTunnelServer.start(ServerConfig.ephemeral(dataDir, all),
                new PrintStream(OutputStream.nullOutputStream()));
        api = new ApiClient(server.apiPort(), ADMIN_TOKEN);
    }

    JsonNode createTunnel(String name) {
        ApiClient.Response response = api.post("/api/tunnels", "{\"name\":\"" + name + "\"}");
        assertThat(response.status()).as(response.toString()).isEqualTo(201);
        return response.json();
    }

    TcpServicePorts.Created tcpService(String tunnelId, String targetAddress) {
        return TcpServicePorts.create(api, tunnelId, port -> "{\"type\":\"tcp\",\"listen_addr\":\"127.0.0.1:" + port
                + "\",\"target_addr\":\"" + targetAddress + "\",\"enabled\":true}");
    }

    /** A hashicorp client of {@code tunnel}, once the server has it. */
    GoPeer connectedClient(JsonNode tunnel, String... flags) {
        GoPeer peer = startClient(tunnel.get("token").asText(), flags);
        peer.awaitLine("CONNECTED");
        await().atMost(Duration.ofSeconds(30)).until(() -> server.registry().isConnected(tunnel.get("id").asText()));
        return peer;
    }

    /** A hashicorp client with {@code token}, stopped by {@link #stopClients}. */
    GoPeer startClient(String token, String... flags) {
        List<String> args = new ArrayList<>(List.of("tunnel-client", "-url",
                "ws://127.0.0.1:" + server.tunnelPort() + "/tunnel", "-token", token));
        args.addAll(List.of(flags));
        GoPeer peer = GoPeer.start(args.toArray(String[]::new));
        clients.add(peer);
        return peer;
    }

    void stopClients() {
        clients.forEach(GoPeer::close);
    }

    /** Closes the API client and stops the server (the clients are stopped apart, first). */
    @Override
    public void close() {
        api.close();
        server.stop();
    }
}
