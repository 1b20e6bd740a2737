package io.picotunnel.bench.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.ServerAddress;
import io.picotunnel.client.tunnel.TunnelClient;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.ServerConfig;
import io.picotunnel.server.config.Setting;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A PicoTunnel server and a tunnel client in this process, connected over real loopback sockets, with one
 * tcp service (or one http service) forwarding to a target: what a user runs, set up the way a user would (tunnel
 * and service created through the management API). The server keeps its data in a temporary directory.
 */
public final class TunnelFixture implements AutoCloseable {

    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dataDir;
    private final String adminToken = randomHex();
    private final HttpClient http = HttpClient.newHttpClient();
    private PicoTunnelServer server;
    private TunnelClient client;
    private InetSocketAddress serviceAddress;
    /** The domain of the http service, or null for a tcp service. */
    private final String httpDomain;

    private TunnelFixture(String httpDomain) throws IOException {
        this.httpDomain = httpDomain;
        dataDir = Files.createTempDirectory("picotunnel-bench-");
    }

    /** Starts everything; connections to {@link #serviceAddress()} then reach {@code target} through the tunnel. */
    public static TunnelFixture start(InetSocketAddress target) throws Exception {
        return start(target, null);
    }

    /**
     * Starts everything with an http service for {@code domain} instead: requests to {@link #serviceAddress()} (the
     * server's HTTP listener) whose Host is {@code domain} reach {@code target} through the tunnel.
     */
    public static TunnelFixture startHttp(InetSocketAddress target, String domain) throws Exception {
        return start(target, domain);
    }

    private static TunnelFixture start(InetSocketAddress target, String httpDomain) throws Exception {
        TunnelFixture fixture = new TunnelFixture(httpDomain);
        try {
            fixture.startServerAndClient(target);
            return fixture;
        } catch (Exception e) {
            fixture.close();
            throw e;
        }
    }

    public InetSocketAddress serviceAddress() {
        return serviceAddress;
    }

    private void startServerAndClient(InetSocketAddress target) throws Exception {
        server = PicoTunnelServer.start(ServerConfig.ephemeral(dataDir, Map.of(Setting.ADMIN_TOKEN, adminToken)),
                new PrintStream(OutputStream.nullOutputStream()));
        JsonNode tunnel = post("/api/tunnels", Map.of("name", "bench"));
        String tunnelId = tunnel.get("id").asText();
        String targetAddr = target.getAddress().getHostAddress() + ":" + target.getPort();
        if (httpDomain != null) {
            post("/api/tunnels/" + tunnelId + "/services", Map.of("type", "http", "domain", httpDomain,
                    "target_addr", targetAddr, "enabled", true, "health_check", false));
            serviceAddress = new InetSocketAddress(InetAddress.getLoopbackAddress(), server.httpPort());
        } else {
            int servicePort = freeLoopbackPort();
            post("/api/tunnels/" + tunnelId + "/services", Map.of("type", "tcp", "listen_addr",
                    "127.0.0.1:" + servicePort, "target_addr", targetAddr, "enabled", true));
            serviceAddress = new InetSocketAddress(InetAddress.getLoopbackAddress(), servicePort);
        }

        client = new TunnelClient(ClientConfig.of(ServerAddress.parse("ws://127.0.0.1:" + server.tunnelPort()),
                tunnel.get("token").asText()));
        client.start();
        if (!client.awaitConnected(TIMEOUT)) {
            throw new IllegalStateException("the tunnel client did not connect within " + TIMEOUT.toSeconds()
                    + " s (state " + client.state() + ")");
        }
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!server.registry().isConnected(tunnelId)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the server did not register the connected tunnel client");
            }
            TimeUnit.MILLISECONDS.sleep(10);
        }
    }

    private JsonNode post(String path, Map<String, Object> body) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.apiPort() + path))
                .header("Authorization", "Bearer " + adminToken)
                .header("Content-Type", "application/json")
                .timeout(TIMEOUT)
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)))
                .build();
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 201) {
            throw new IllegalStateException("POST " + path + " answered " + response.statusCode() + ": "
                    + response.body());
        }
        return JSON.readTree(response.body());
    }

    private static String randomHex() {
        byte[] bytes = new byte[16];
        new SecureRandom().nextBytes(bytes);
        return HexFormat.of().formatHex(bytes);
    }

    private static int freeLoopbackPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    @Override
    public void close() {
        if (client != null) {
            client.stop(Duration.ofSeconds(1)).orTimeout(TIMEOUT.toSeconds(), TimeUnit.SECONDS).join();
        }
        if (server != null) {
            server.stop();
        }
        http.close();
        try (Stream<Path> files = Files.walk(dataDir)) {
            files.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
