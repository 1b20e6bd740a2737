package io.picotunnel.server.api;

import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.ServerConfig;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.store.ServiceListener;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Starts a real server on loopback with ephemeral ports, quietly (the generated token is not printed).
 *
 * <p>Registered as an extension ({@code @RegisterExtension final ApiTestServer running = new ApiTestServer();}), it
 * starts one such server for each test, on a fresh temporary data directory, with an {@link ApiClient} holding its
 * admin token, and stops both after the test.
 */
public final class ApiTestServer implements BeforeEachCallback, AfterEachCallback {

    private final Map<Setting, String> settings;
    private final ServiceListener[] listeners;
    private Path dataDir;
    private PicoTunnelServer server;
    private ApiClient api;

    public ApiTestServer(ServiceListener... listeners) {
        this(Map.of(), listeners);
    }

    /** A server started with these settings added to the ephemeral ones, telling these listeners of its services. */
    public ApiTestServer(Map<Setting, String> settings, ServiceListener... listeners) {
        this.settings = Map.copyOf(settings);
        this.listeners = listeners.clone();
    }

    static PicoTunnelServer start(Path dataDir, ServiceListener... listeners) {
        return start(dataDir, Map.of(), listeners);
    }

    static PicoTunnelServer start(Path dataDir, Map<Setting, String> settings, ServiceListener... listeners) {
        return PicoTunnelServer.start(ServerConfig.ephemeral(dataDir, settings),
                new PrintStream(OutputStream.nullOutputStream()), listeners);
    }

    @Override
    public void beforeEach(ExtensionContext context) throws IOException {
        dataDir = Files.createTempDirectory("picotunnel-api-test");
        server = start(dataDir, settings, listeners);
        api = new ApiClient(server.apiPort(), server.adminToken());
    }

    @Override
    public void afterEach(ExtensionContext context) throws IOException {
        try {
            if (api != null) {
                api.close();
            }
            if (server != null) {
                server.stop();
            }
        } finally {
            deleteTree(dataDir);
        }
    }

    /** The server of the running test. */
    public PicoTunnelServer server() {
        return server;
    }

    /** An API client of the running test's server, with its admin token. */
    public ApiClient api() {
        return api;
    }

    private static void deleteTree(Path root) throws IOException {
        if (root == null) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }
}
