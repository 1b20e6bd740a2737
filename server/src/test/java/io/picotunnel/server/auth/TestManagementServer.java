package io.picotunnel.server.auth;

import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.ServerConfig;
import io.picotunnel.server.config.Setting;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;

/** A real server on loopback with ephemeral ports, quietly; tests reach its management port by "localhost". */
final class TestManagementServer implements AutoCloseable {

    private final PicoTunnelServer server;

    private TestManagementServer(PicoTunnelServer server) {
        this.server = server;
    }

    static TestManagementServer start(Path dataDir, Map<Setting, String> settings) {
        return new TestManagementServer(PicoTunnelServer.start(ServerConfig.ephemeral(dataDir, settings),
                new PrintStream(OutputStream.nullOutputStream())));
    }

    PicoTunnelServer server() {
        return server;
    }

    int port() {
        return server.apiPort();
    }

    String url(String path) {
        return "http://localhost:" + port() + path;
    }

    @Override
    public void close() {
        server.stop();
    }
}
