package io.picotunnel.server.api;

import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.ServerConfig;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.store.ServiceListener;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;

/** Starts a real server on loopback with ephemeral ports, quietly (the generated token is not printed). */
final class ApiTestServer {

    private ApiTestServer() {
    }

    static PicoTunnelServer start(Path dataDir, ServiceListener... listeners) {
        return start(dataDir, Map.of(), listeners);
    }

    static PicoTunnelServer start(Path dataDir, Map<Setting, String> settings, ServiceListener... listeners) {
        return PicoTunnelServer.start(ServerConfig.ephemeral(dataDir, settings),
                new PrintStream(OutputStream.nullOutputStream()), listeners);
    }
}
