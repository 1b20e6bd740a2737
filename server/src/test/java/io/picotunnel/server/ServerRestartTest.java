package io.picotunnel.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.api.ApiClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class ServerRestartTest {

    @TempDir
    Path dataDir;

    private static PicoTunnelServer start(Path dataDir, RecordingListener listener) {
        return PicoTunnelServer.start(ServerConfig.ephemeral(dataDir), new PrintStream(OutputStream.nullOutputStream()), listener);
    }

    @Test
    void dataSurvivesARestartAndStoredServicesAreReplayedToListeners() {
        JsonNode tunnel;
        JsonNode http;
        JsonNode tcp;
        try (PicoTunnelServer server = start(dataDir, new RecordingListener());
             ApiClient api = new ApiClient(server.apiPort(), server.adminToken())) {
            tunnel = api.post("/api/tunnels", "{\"name\": \"survivor\"}").json();
            String id = tunnel.get("id").asText();
            http = api.post("/api/tunnels/" + id + "/services",
                    "{\"type\": \"http\", \"domain\": \"app.example.com\", \"target_addr\": \"localhost:3000\"}").json();
            tcp = api.post("/api/tunnels/" + id + "/services",
                    "{\"type\": \"tcp\", \"listen_addr\": \":20222\", \"target_addr\": \"localhost:22\", \"enabled\": false}").json();
        }

        RecordingListener listener = new RecordingListener();
        try (PicoTunnelServer server = start(dataDir, listener);
             ApiClient api = new ApiClient(server.apiPort(), server.adminToken())) {
            String id = tunnel.get("id").asText();
            // as created, except the token: that was in the create answer only (the store keeps its hash)
            assertThat(api.get("/api/tunnels/" + id).json())
                    .isEqualTo(((com.fasterxml.jackson.databind.node.ObjectNode) tunnel.deepCopy()).putNull("token"));
            assertThat(api.get("/api/tunnels/" + id + "/services").json()).containsExactly(http, tcp);
            assertThat(server.store().findTunnelByToken(tunnel.get("token").asText())).isPresent();

            assertThat(listener.changes).allMatch(RecordingListener.Change::isCreate)
                    .extracting(change -> change.after().id())
                    .containsExactly(http.get("id").asText(), tcp.get("id").asText());
        }
    }

    @Test
    void aStoredServiceAListenerRefusesAtStartUpDoesNotStopTheServer() {
        try (PicoTunnelServer server = start(dataDir, new RecordingListener())) {
            String id = server.store().createTunnel("t").id();
            try (ApiClient api = new ApiClient(server.apiPort(), server.adminToken())) {
                api.post("/api/tunnels/" + id + "/services", "{\"type\": \"tcp\", \"listen_addr\": \":20223\", \"target_addr\": \"localhost:22\"}");
            }
        }
        RecordingListener refusing = new RecordingListener();
        refusing.refuse(change -> true, "port 20223 is already in use");

        try (PicoTunnelServer server = start(dataDir, refusing);
             ApiClient api = new ApiClient(server.apiPort(), server.adminToken())) {
            assertThat(api.get("/health").status()).isEqualTo(200);
            assertThat(server.store().services()).hasSize(1);
        }
    }
}
