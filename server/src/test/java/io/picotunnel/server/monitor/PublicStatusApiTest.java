package io.picotunnel.server.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.testbed.TcpServicePorts;
import io.picotunnel.server.testbed.Testbed;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** {@code public_status} on tunnels and the unauthenticated {@code GET /api/status}. */
class PublicStatusApiTest {

    @TempDir
    Path dataDir;

    private Testbed quietServer() {
        return new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1h"));
    }

    @Test
    void publicStatusIsOffByDefaultAndSetByPatch() {
        try (Testbed testbed = quietServer()) {
            JsonNode created = testbed.createTunnel("box");
            String id = created.get("id").asText();
            assertThat(created.get("public_status").asBoolean()).isFalse();
            assertThat(created.get("public_status").isBoolean()).isTrue();

            ApiClient.Response on = testbed.api().patch("/api/tunnels/" + id, "{\"public_status\":true}");
            assertThat(on.status()).as("%s", on).isEqualTo(200);
            assertThat(on.json().get("public_status").asBoolean()).isTrue();
            assertThat(on.json().get("name").asText()).isEqualTo("box");
            assertThat(testbed.api().get("/api/tunnels/" + id).json().get("public_status").asBoolean()).isTrue();

            ApiClient.Response bad = testbed.api().patch("/api/tunnels/" + id, "{\"public_status\":\"yes\"}");
            assertThat(bad.status()).isEqualTo(400);
            assertThat(bad.json().get("message").asText()).contains("public_status");
            assertThat(testbed.api().get("/api/tunnels/" + id).json().get("public_status").asBoolean()).isTrue();

            ApiClient.Response off = testbed.api().patch("/api/tunnels/" + id, "{\"public_status\":false}");
            assertThat(off.json().get("public_status").asBoolean()).isFalse();
            assertThat(testbed.api().patch("/api/tunnels/nope", "{\"public_status\":true}").status()).isEqualTo(404);
        }
    }

    @Test
    void changingOnlyThePublicStatusMarksTheTunnelUpdated() {
        try (Testbed testbed = quietServer()) {
            JsonNode created = testbed.createTunnel("box");
            String id = created.get("id").asText();
            Instant createdAt = Instant.parse(created.get("updated_at").asText());
            await().atMost(Duration.ofSeconds(5)).until(() -> Instant.now().isAfter(createdAt.plusMillis(5)));

            ApiClient.Response on = testbed.api().patch("/api/tunnels/" + id, "{\"public_status\":true}");
            assertThat(Instant.parse(on.json().get("updated_at").asText())).as("%s", on).isAfter(createdAt);
            assertThat(testbed.api().get("/api/tunnels/" + id).json().get("updated_at")).isEqualTo(on.json().get("updated_at"));
            assertThat(on.json().get("created_at")).isEqualTo(created.get("created_at"));
        }
    }

    @Test
    void statusNeedsNoSignInAndIsEmptyWithoutPublicTunnels() {
        try (Testbed testbed = quietServer()) {
            testbed.createTunnel("private");
            try (ApiClient anonymous = testbed.api().withToken(null)) {
                ApiClient.Response status = anonymous.get("/api/status");
                assertThat(status.status()).as("%s", status).isEqualTo(200);
                assertThat(status.json().isArray()).isTrue();
                assertThat(status.json()).isEmpty();
                // the rest of the API still needs the admin token
                assertThat(anonymous.get("/api/tunnels").status()).isEqualTo(401);
                assertThat(anonymous.get("/api/events").status()).isEqualTo(401);
            }
        }
    }

    @Test
    void statusShowsOnlyOptedInTunnelsWithoutSecretsOrInternalDetailAndTogglingOffRemovesThem() {
        try (Testbed testbed = quietServer()) {
            JsonNode shown = testbed.createTunnel("shown-box");
            String shownId = shown.get("id").asText();
            String shownToken = shown.get("token").asText();
            JsonNode hidden = testbed.createTunnel("hidden-box");
            String hiddenId = hidden.get("id").asText();
            String http = testbed.createService(shownId, "{\"type\":\"http\",\"domain\":\"app.example.test\","
                    + "\"target_addr\":\"10.1.2.3:8080\"}").get("id").asText();
            TcpServicePorts.Created tcpService = TcpServicePorts.create(testbed.api(), shownId, port -> "{\"type\":\"tcp\","
                    + "\"listen_addr\":\"127.0.0.1:" + port + "\",\"target_addr\":\"db.internal.lan:5432\"}");
            int tcpPort = tcpService.port();
            String tcp = tcpService.id();
            testbed.createService(hiddenId, "{\"type\":\"http\",\"domain\":\"hidden.example.test\",\"target_addr\":\"localhost:1\"}");
            Instant now = Instant.now();
            List<Check> history = new ArrayList<>();
            for (int i = 60; i >= 1; i--) {
                history.add(Check.up(Subject.tunnel(shownId), 7, now.minus(Duration.ofMinutes(i))));
                history.add(Check.down(Subject.tunnel(hiddenId), "no client connected", now.minus(Duration.ofMinutes(i))));
            }
            history.add(Check.down(Subject.tunnel(shownId), "ping failed: connection reset by 192.168.7.7", now));
            history.add(Check.down(new Subject(shownId, http), "the client could not reach 10.1.2.3:8080", now));
            history.add(Check.up(new Subject(shownId, tcp), 3, now));
            testbed.server().checks().record(history, List.of(history.get(0), history.getLast()));
            assertThat(testbed.api().patch("/api/tunnels/" + shownId, "{\"public_status\":true}").status()).isEqualTo(200);

            try (ApiClient anonymous = testbed.api().withToken(null)) {
                ApiClient.Response response = anonymous.get("/api/status");
                assertThat(response.status()).as("%s", response).isEqualTo(200);
                JsonNode status = response.json();
                assertThat(status).hasSize(1);
                JsonNode tunnel = status.get(0);
                assertThat(tunnel.get("name").asText()).isEqualTo("shown-box");
                assertThat(tunnel.get("status").asText()).isEqualTo("down");
                assertThat(tunnel.get("uptime_24h").asDouble()).isEqualTo(Math.round(10_000.0 * 60 / 61) / 100.0);
                assertThat(tunnel.has("uptime_7d")).isTrue();
                assertThat(tunnel.has("uptime_30d")).isTrue();
                assertThat(tunnel.has("since")).isTrue();
                JsonNode beats = tunnel.get("heartbeats");
                assertThat(beats).hasSize(PublicStatus.HEARTBEATS);
                assertThat(beats.get(0).get("status").asText()).isEqualTo("down");
                assertThat(beats.get(1).get("status").asText()).isEqualTo("up");
                assertThat(beats.get(1).get("latency_ms").asLong()).isEqualTo(7);
                assertThat(Instant.parse(beats.get(1).get("time").asText())).isBefore(Instant.parse(beats.get(0).get("time").asText()));
                JsonNode services = tunnel.get("services");
                assertThat(services.findValuesAsText("name")).containsExactlyInAnyOrder("app.example.test",
                        "port " + tcpPort);
                for (JsonNode service : services) {
                    assertThat(service.get("status").asText()).isEqualTo(service.get("type").asText().equals("http") ? "down" : "up");
                    assertThat(service.has("uptime_24h")).isTrue();
                }

                String body = response.raw().body();
                assertThat(body).doesNotContain(shownId, hiddenId, http, tcp, shownToken, "hidden-box", "hidden.example.test",
                        "10.1.2.3", "db.internal.lan", "192.168.7.7", "127.0.0.1", "no client connected", "could not reach");
                assertThat(status.findValues("token")).isEmpty();
                assertThat(status.findValues("target_addr")).isEmpty();
                assertThat(status.findValues("listen_addr")).isEmpty();
                assertThat(status.findValues("remote_addr")).isEmpty();
                assertThat(status.findValues("clients")).isEmpty();
                assertThat(status.findValues("error")).isEmpty();
                assertThat(status.findValues("id")).isEmpty();
                assertThat(status.findValues("tunnel_id")).isEmpty();
                assertThat(status.findValues("service_id")).isEmpty();

                assertThat(testbed.api().patch("/api/tunnels/" + shownId, "{\"public_status\":false}").status()).isEqualTo(200);
                assertThat(anonymous.get("/api/status").json()).isEmpty();
            }
        }
    }
}
