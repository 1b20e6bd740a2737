package io.picotunnel.server.proxy.http;

import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.ServerAddress;
import io.picotunnel.client.tunnel.TunnelClient;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.ServerConfig;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.config.Setting;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real path of a proxied request: our server (facade, every listener on 127.0.0.1), one tunnel created
 * through the API, and our tunnel client connected to it, which dials the targets of the services.
 */
final class TunnelFixture implements AutoCloseable {

    private static final String ADMIN_TOKEN = "http-proxy-test-admin-token-0123456789";

    private final PicoTunnelServer server;
    private final ApiClient api;
    private final String tunnelId;
    private final TunnelClient client;

    TunnelFixture(Path dataDir, Map<Setting, String> settings) throws InterruptedException {
        this(dataDir, settings, UnaryOperator.identity());
    }

    /** As above, with the client's configuration changed by {@code clientConfig} (its allow list, dial timeout). */
    TunnelFixture(Path dataDir, Map<Setting, String> settings, UnaryOperator<ClientConfig> clientConfig)
            throws InterruptedException {
        Map<Setting, String> all = new EnumMap<>(Setting.class);
        all.put(Setting.ADMIN_TOKEN, ADMIN_TOKEN);
        all.putAll(settings);
        server = PicoTunnelServer.start(ServerConfig.ephemeral(dataDir, all), new PrintStream(OutputStream.nullOutputStream()));
        api = new ApiClient(server.apiPort(), ADMIN_TOKEN);
        ApiClient.Response tunnel = api.post("/api/tunnels", "{\"name\":\"web\"}");
        assertThat(tunnel.status()).as(tunnel.toString()).isEqualTo(201);
        tunnelId = tunnel.json().get("id").asText();
        client = new TunnelClient(clientConfig.apply(ClientConfig.of(ServerAddress.parse("ws://127.0.0.1:" + server.tunnelPort()),
                tunnel.json().get("token").asText()).withShutdownGrace(Duration.ZERO)));
        client.start();
        assertThat(client.awaitConnected(Duration.ofSeconds(30))).as("tunnel client connected").isTrue();
    }

    /**
     * Closes this fixture and answers a new one, in a new directory of {@code dataDir}, whose --proxy-timeout is
     * {@code timeout}: for a test that needs another than its class's tunnel has. The services are not carried over.
     */
    TunnelFixture restartWithProxyTimeout(Path dataDir, Duration timeout) throws IOException, InterruptedException {
        close();
        return new TunnelFixture(Files.createDirectory(dataDir.resolve("proxy-timeout-" + timeout.toMillis() + "ms")),
                Map.of(Setting.PROXY_TIMEOUT, timeout.toMillis() + "ms"));
    }

    /**
     * {@link #restartWithProxyTimeout} with {@link KeepAliveTarget#PACED_PROXY_TIMEOUT}: for the tests whose target
     * paces its answer within it, so that each gap has over 1 s to spare on a loaded machine.
     */
    TunnelFixture restartWithPacedProxyTimeout(Path dataDir) throws IOException, InterruptedException {
        return restartWithProxyTimeout(dataDir, KeepAliveTarget.PACED_PROXY_TIMEOUT);
    }

    /** Adds an enabled http service through the API; answers its id. */
    String addService(String domain, String pathPrefix, String target, boolean httpsRedirect) {
        ApiClient.Response response = api.post("/api/tunnels/" + tunnelId + "/services",
                "{\"type\":\"http\",\"domain\":\"" + domain + "\",\"path_prefix\":\"" + pathPrefix + "\",\"target_addr\":\""
                        + target + "\",\"https_redirect\":" + httpsRedirect + "}");
        assertThat(response.status()).as(response.toString()).isEqualTo(201);
        return response.json().get("id").asText();
    }

    /** Edits a service through the API ({@code PATCH}, {@code json} the fields changed). */
    void editService(String id, String json) {
        ApiClient.Response response = api.patch("/api/services/" + id, json);
        assertThat(response.status()).as(response.toString()).isEqualTo(200);
    }

    /** Deletes a service through the API. */
    void deleteService(String id) {
        ApiClient.Response response = api.delete("/api/services/" + id);
        assertThat(response.status()).as(response.toString()).isEqualTo(204);
    }

    int httpPort() {
        return server.httpPort();
    }

    /** Proxied requests (streams, idle keep-alive ones included) open now for the fixture's tunnel. */
    int openRequests() {
        return server.openTunnelRequests(tunnelId);
    }

    /** {@code GET /metrics} on the management port, with the admin token: the Prometheus text. */
    String scrapeMetrics() {
        ApiClient.Response response = api.get("/metrics");
        assertThat(response.status()).as(response.toString()).isEqualTo(200);
        return response.raw().body();
    }

    /** The value of the sample {@code name} in {@code /metrics} whose labels contain {@code label}; empty when none. */
    OptionalDouble metric(String name, String label) {
        for (String line : scrapeMetrics().split("\n")) {
            if ((line.startsWith(name + "{") && line.contains(label)) || line.startsWith(name + " ")) {
                return OptionalDouble.of(Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)));
            }
        }
        return OptionalDouble.empty();
    }

    /** The proxy's idle keep-alive streams to the targets, over all services, as {@code /metrics} shows them. */
    long idleUpstreams() {
        OptionalDouble idle = metric("picotunnel_http_upstream_streams_idle", "");
        assertThat(idle).as("picotunnel_http_upstream_streams_idle").isPresent();
        return (long) idle.getAsDouble();
    }

    /**
     * Regenerates the tunnel's token: the server drops the client's connection at once (its streams end without a
     * reason, as when a client is lost), and the client, refused when it reconnects, stops.
     */
    void regenerateToken() {
        ApiClient.Response response = api.post("/api/tunnels/" + tunnelId + "/regenerate", null);
        assertThat(response.status()).as(response.toString()).isEqualTo(200);
    }

    /** Stops the tunnel's client (GoAway, then its connection closed): the tunnel goes offline. */
    void stopClient() {
        client.close();
    }

    /** Stops the server as SIGTERM does: drains for up to {@code grace}, then resets what is left. */
    void stopServer(Duration grace) {
        server.stop(grace);
    }

    @Override
    public void close() {
        client.close();
        api.close();
        server.stop();
    }
}
