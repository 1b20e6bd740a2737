package io.picotunnel.server.e2e;

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

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A real server (through its facade, every listener on 127.0.0.1) with its data in a directory, the management
 * API as a client sees it, and real tunnel clients. The tunnel port stays the same across restarts.
 */
final class Testbed implements AutoCloseable {

    static final String ADMIN_TOKEN = "e2e-admin-token-0123456789abcdef";

    private final Path dataDir;
    private final Map<Setting, String> extraSettings;
    private final List<TunnelClient> clients = new ArrayList<>();
    private PicoTunnelServer server;
    private ApiClient api;
    private int tunnelPort;

    Testbed(Path dataDir) {
        this(dataDir, Map.of());
    }

    /** A server with {@code extraSettings} on top of the defaults. */
    Testbed(Path dataDir, Map<Setting, String> extraSettings) {
        this.dataDir = dataDir;
        this.extraSettings = Map.copyOf(extraSettings);
        start();
    }

    private void start() {
        Map<Setting, String> settings = new EnumMap<>(Setting.class);
        settings.put(Setting.ADMIN_TOKEN, ADMIN_TOKEN);
        settings.putAll(extraSettings);
        if (tunnelPort != 0) {
            settings.put(Setting.TUNNEL_ADDR, "127.0.0.1:" + tunnelPort);
        }
        server = PicoTunnelServer.start(ServerConfig.ephemeral(dataDir, settings),
                new PrintStream(OutputStream.nullOutputStream()));
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

    int tunnelPort() {
        return tunnelPort;
    }

    /** Creates a tunnel through the API; the answer has its id and token. */
    JsonNode createTunnel(String name) {
        ApiClient.Response response = api.post("/api/tunnels", "{\"name\":\"" + name + "\"}");
        assertThat(response.status()).as("create tunnel: %s", response).isEqualTo(201);
        return response.json();
    }

    /** Creates an enabled tcp service through the API. */
    JsonNode createTcpService(String tunnelId, int listenPort, String targetAddr) {
        ApiClient.Response response = api.post("/api/tunnels/" + tunnelId + "/services",
                "{\"type\":\"tcp\",\"listen_addr\":\"127.0.0.1:" + listenPort + "\",\"target_addr\":\"" + targetAddr
                        + "\",\"enabled\":true}");
        assertThat(response.status()).as("create tcp service: %s", response).isEqualTo(201);
        return response.json();
    }

    boolean isConnected(String tunnelId) {
        return server.registry().isConnected(tunnelId);
    }

    /** Starts one of our tunnel clients against this server. */
    TunnelClient startClient(String token) {
        TunnelClient client = new TunnelClient(ClientConfig.of(ServerAddress.parse("ws://127.0.0.1:" + tunnelPort), token)
                .withShutdownGrace(Duration.ZERO));
        clients.add(client);
        client.start();
        return client;
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
