package io.picotunnel.server.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.ServerAddress;
import io.picotunnel.client.tunnel.TunnelClient;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.ServerConfig;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.config.Setting;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** A real server with monitoring settings of the test's choosing, its API, and real tunnel clients. */
final class MonitorTestbed implements AutoCloseable {

    static final String ADMIN_TOKEN = "monitor-admin-token-0123456789ab";

    private final Path dataDir;
    private final Map<Setting, String> settings;
    private final List<TunnelClient> clients = new ArrayList<>();
    private PicoTunnelServer server;
    private ApiClient api;
    private int tunnelPort;

    MonitorTestbed(Path dataDir, Map<Setting, String> settings) {
        this.dataDir = dataDir;
        this.settings = new EnumMap<>(Setting.class);
        this.settings.putAll(settings);
        this.settings.put(Setting.ADMIN_TOKEN, ADMIN_TOKEN);
        start();
    }

    private void start() {
        Map<Setting, String> flags = new EnumMap<>(settings);
        if (tunnelPort != 0) {
            flags.put(Setting.TUNNEL_ADDR, "127.0.0.1:" + tunnelPort);
        }
        server = PicoTunnelServer.start(ServerConfig.ephemeral(dataDir, flags), new PrintStream(OutputStream.nullOutputStream()));
        tunnelPort = server.tunnelPort();
        api = new ApiClient(server.apiPort(), ADMIN_TOKEN);
    }

    /** Stops the server and starts a new one on the same data directory and tunnel port. */
    void restart() {
        api.close();
        server.stop();
        start();
    }

    PicoTunnelServer server() {
        return server;
    }

    ApiClient api() {
        return api;
    }

    JsonNode createTunnel(String name) {
        ApiClient.Response response = api.post("/api/tunnels", "{\"name\":\"" + name + "\"}");
        assertThat(response.status()).as("create tunnel: %s", response).isEqualTo(201);
        return response.json();
    }

    JsonNode createService(String tunnelId, String json) {
        ApiClient.Response response = api.post("/api/tunnels/" + tunnelId + "/services", json);
        assertThat(response.status()).as("create service: %s", response).isEqualTo(201);
        return response.json();
    }

    /** Starts one of our tunnel clients and waits until the server has it. */
    TunnelClient connect(String tunnelId, String token) {
        TunnelClient client = new TunnelClient(ClientConfig.of(ServerAddress.parse("ws://127.0.0.1:" + tunnelPort), token)
                .withShutdownGrace(Duration.ZERO));
        clients.add(client);
        client.start();
        await().atMost(10, TimeUnit.SECONDS).until(() -> server.registry().isConnected(tunnelId));
        return client;
    }

    /** The newest checks of the tunnel (or of one of its services), newest first, through the API. */
    JsonNode checks(String tunnelId, String serviceId, int limit) {
        ApiClient.Response response = api.get("/api/tunnels/" + tunnelId + "/checks?limit=" + limit
                + (serviceId == null ? "" : "&service_id=" + serviceId));
        assertThat(response.status()).as("checks: %s", response).isEqualTo(200);
        return response.json();
    }

    @Override
    public void close() {
        for (TunnelClient client : clients) {
            client.close();
        }
        if (api != null) {
            api.close();
        }
        if (server != null) {
            server.stop();
        }
    }
}
