package io.picotunnel.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.protocol.config.ConfigException;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.ServerConfig;
import io.picotunnel.server.config.Setting;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** GET /api/server: what the UI shows about the server (client commands, public addresses). */
class ServerInfoApiTest {

    @TempDir
    Path dataDir;

    @Test
    void serverInfoNamesTheTunnelAddressTheProxyPortsAndTheImagePrefix() {
        try (PicoTunnelServer server = PicoTunnelServer.start(ServerConfig.ephemeral(dataDir,
                Map.of(Setting.IMAGE_PREFIX, "registry.example.com/team")), new PrintStream(OutputStream.nullOutputStream()));
             ApiClient api = new ApiClient(server.apiPort(), server.adminToken())) {
            JsonNode info = api.get("/api/server").json();
            assertThat(info.get("image_prefix").asText()).isEqualTo("registry.example.com/team/");
            assertThat(info.get("tunnel_server").asText()).isEqualTo("ws://127.0.0.1:" + server.tunnelPort());
            assertThat(info.get("http_port").asInt()).isEqualTo(server.httpPort());
            assertThat(info.get("https_port").asInt()).isEqualTo(server.httpsPort());
            assertThat(info.get("public_host").asText()).isEqualTo("127.0.0.1");
            assertThat(info.get("domain").isNull()).isTrue();
            assertThat(api.withToken("wrong-token-0123456789").get("/api/server").status()).isEqualTo(401);
        }
    }

    @Test
    void behindAPortMappingThePublicPortsAreWhatTheUiShowsAndTheHttpsRedirectNames() throws Exception {
        try (PicoTunnelServer server = PicoTunnelServer.start(ServerConfig.ephemeral(dataDir, Map.of(
                        Setting.PUBLIC_HTTP_PORT, "8000", Setting.PUBLIC_HTTPS_PORT, "8444",
                        Setting.PUBLIC_TUNNEL_PORT, "9443")), new PrintStream(OutputStream.nullOutputStream()));
             ApiClient api = new ApiClient(server.apiPort(), server.adminToken())) {
            JsonNode info = api.get("/api/server").json();
            assertThat(info.get("http_port").asInt()).isEqualTo(8000);
            assertThat(info.get("https_port").asInt()).isEqualTo(8444);
            assertThat(info.get("tunnel_server").asText()).isEqualTo("ws://127.0.0.1:9443");

            String tunnelId = ServiceRequests.createTunnel(api);
            ServiceRequests.createService(api, tunnelId, "{\"type\": \"http\", \"domain\": \"app.example.com\","
                    + " \"target_addr\": \"localhost:9\", \"https_redirect\": true}");
            String answer = exchange(server.httpPort(), "GET /page?q=1 HTTP/1.1\r\nHost: app.example.com:8000\r\n"
                    + "Connection: close\r\n\r\n");
            assertThat(answer).startsWith("HTTP/1.1 308 ")
                    .containsIgnoringCase("\r\nlocation: https://app.example.com:8444/page?q=1\r\n");
        }
    }

    @Test
    void aPublicPortMustBeAPort() {
        assertThatThrownBy(() -> ServerConfig.ephemeral(dataDir, Map.of(Setting.PUBLIC_HTTPS_PORT, "65536")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("'65536' is not a port from 1 to 65535");
        assertThatThrownBy(() -> ServerConfig.ephemeral(dataDir, Map.of(Setting.PUBLIC_TUNNEL_PORT, "https")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("'https' is not a port from 1 to 65535");
    }

    /** Sends {@code request} to the HTTP listener and reads the whole answer (the request asks for a close). */
    private static String exchange(int port, String request) throws Exception {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
            return new String(socket.getInputStream().readNBytes(64 * 1024), StandardCharsets.US_ASCII);
        }
    }

    @Test
    void theImagePrefixIsEmptyByDefaultAndMustLookLikeARegistryPath() {
        assertThat(ServerConfig.ephemeral(dataDir).imagePrefix()).isEmpty();
        assertThatThrownBy(() -> ServerConfig.ephemeral(dataDir, Map.of(Setting.IMAGE_PREFIX, "bad prefix; rm -rf")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("is not a registry path");
    }
}
