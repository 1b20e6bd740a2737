package io.picotunnel.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.ServerConfig;
import io.picotunnel.server.config.ConfigException;
import io.picotunnel.server.config.Setting;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.io.PrintStream;
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
    void theImagePrefixIsEmptyByDefaultAndMustLookLikeARegistryPath() {
        assertThat(ServerConfig.ephemeral(dataDir).imagePrefix()).isEmpty();
        assertThatThrownBy(() -> ServerConfig.ephemeral(dataDir, Map.of(Setting.IMAGE_PREFIX, "bad prefix; rm -rf")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("is not a registry path");
    }
}
