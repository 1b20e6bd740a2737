package io.picotunnel.server.testbed;

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
import java.util.function.UnaryOperator;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A real server (through its facade, every listener on 127.0.0.1) with its data in a directory, the management
 * API as a client sees it, and real tunnel clients. The tunnel port stays the same across restarts. What the
 * end-to-end, monitoring and browser tests start.
 */
public final class Testbed implements AutoCloseable {

    public static final String ADMIN_TOKEN = "e2e-admin-token-0123456789abcdef";

    private final Path dataDir;
    private final Map<Setting, String> extraSettings;
    private final List<TunnelClient> clients = new ArrayList<>();
    private PicoTunnelServer server;
    private ApiClient api;
    private int tunnelPort;

    public Testbed(Path dataDir) {
        this(dataDir, Map.of());
    }

    /** A server with {@code extraSettings} on top of the defaults. */
    public Testbed(Path dataDir, Map<Setting, String> extraSettings) {
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
    public void restart() {
        api.close();
        server.stop();
        start();
    }

    public PicoTunnelServer server() {
        return server;
    }

    public ApiClient api() {
        return api;
    }

    public int tunnelPort() {
        return tunnelPort;
    }

    /** Creates a tunnel through the API; the answer has its id and token. */
    public JsonNode createTunnel(String name) {
        ApiClient.Response response = api.post("/api/tunnels", "{\"name\":\"" + name + "\"}");
        assertThat(response.status()).as("create tunnel: %s", response).isEqualTo(201);
        return response.json();
    }

    /** Creates a tunnel and connects one of our clients with its token (see {@link #connect}); the tunnel's id. */
    public String createConnectedTunnel(String name) {
        JsonNode tunnel = createTunnel(name);
        String id = tunnel.get("id").asText();
        connect(id, tunnel.get("token").asText());
        return id;
    }

    /** Creates a service from its JSON body through the API. */
    public JsonNode createService(String tunnelId, String json) {
        ApiClient.Response response = api.post("/api/tunnels/" + tunnelId + "/services", json);
        assertThat(response.status()).as("create service: %s", response).isEqualTo(201);
        return response.json();
    }

    /** Creates an http service for {@code domain}, answered by {@code targetAddr} (host:port), through the API. */
    public JsonNode createHttpService(String tunnelId, String domain, String targetAddr) {
        return createService(tunnelId, "{\"type\":\"http\",\"domain\":\"" + domain + "\",\"target_addr\":\""
                + targetAddr + "\"}");
    }

    /** Creates an enabled tcp service on 127.0.0.1 through the API. */
    public JsonNode createTcpService(String tunnelId, int listenPort, String targetAddr) {
        return createTcpService(tunnelId, "127.0.0.1:" + listenPort, targetAddr);
    }

    /** Creates an enabled tcp service on {@code listenAddr} (host:port) through the API. */
    public JsonNode createTcpService(String tunnelId, String listenAddr, String targetAddr) {
        return createService(tunnelId, "{\"type\":\"tcp\",\"listen_addr\":\"" + listenAddr
                + "\",\"target_addr\":\"" + targetAddr + "\",\"enabled\":true}");
    }

    /**
     * Creates an enabled tcp service on 127.0.0.1, on a port that was free a moment ago: another one when something
     * took it before the server bound it ({@link TcpServicePorts}).
     */
    public TcpServicePorts.Created createTcpServiceOnFreePort(String tunnelId, String targetAddr) {
        return TcpServicePorts.create(api, tunnelId, port -> "{\"type\":\"tcp\",\"listen_addr\":\"127.0.0.1:" + port
                + "\",\"target_addr\":\"" + targetAddr + "\",\"enabled\":true}");
    }

    /** The newest checks of the tunnel (or of one of its services), newest first, through the API. */
    public JsonNode checks(String tunnelId, String serviceId, int limit) {
        ApiClient.Response response = api.get("/api/tunnels/" + tunnelId + "/checks?limit=" + limit
                + (serviceId == null ? "" : "&service_id=" + serviceId));
        assertThat(response.status()).as("checks: %s", response).isEqualTo(200);
        return response.json();
    }

    public boolean isConnected(String tunnelId) {
        return server.registry().isConnected(tunnelId);
    }

    /** Starts one of our tunnel clients against this server. */
    public TunnelClient startClient(String token) {
        return startClient(token, UnaryOperator.identity());
    }

    /** As above, with client settings changed by {@code settings}. */
    public TunnelClient startClient(String token, UnaryOperator<ClientConfig> settings) {
        TunnelClient client = new TunnelClient(settings.apply(
                ClientConfig.of(ServerAddress.parse("ws://127.0.0.1:" + tunnelPort), token).withShutdownGrace(Duration.ZERO)));
        clients.add(client);
        client.start();
        return client;
    }

    /** Starts one of our tunnel clients and waits until the server has it. */
    public TunnelClient connect(String tunnelId, String token) {
        TunnelClient client = startClient(token);
        await().atMost(10, TimeUnit.SECONDS).until(() -> isConnected(tunnelId));
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
