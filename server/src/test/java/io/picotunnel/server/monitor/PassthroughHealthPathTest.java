package io.picotunnel.server.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.testbed.Testbed;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A service with {@code tls_mode: passthrough} is checked by a tcp connection to its target (the server cannot read
 * its traffic), so a {@code health_path} for it would never be used: the real API refuses one with a 400 that says
 * why, rather than storing it and showing it as if it were.
 */
class PassthroughHealthPathTest {

    @TempDir
    Path dataDir;

    @Test
    void healthPathOfAPassthroughServiceIsRefusedWithAMessageSayingWhy() {
        try (Testbed testbed = new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1h"))) {
            String id = testbed.createTunnel("passthrough").get("id").asText();

            ApiClient.Response created = testbed.api().post("/api/tunnels/" + id + "/services", "{\"type\":\"http\","
                    + "\"domain\":\"tls.example.test\",\"tls_mode\":\"passthrough\",\"target_addr\":\"127.0.0.1:8443\","
                    + "\"health_path\":\"/healthz\"}");

            assertThat(created.status()).as("%s", created).isEqualTo(400);
            assertThat(created.header("Content-Type")).startsWith("application/json");
            assertThat(created.json().get("error").asText()).isEqualTo("invalid_field");
            assertThat(created.json().get("message").asText()).startsWith("health_path: ").contains("passthrough")
                    .contains("tcp");
            assertThat(testbed.api().get("/api/tunnels/" + id + "/services").json()).isEmpty();

            JsonNode service = testbed.createService(id, "{\"type\":\"http\",\"domain\":\"tls.example.test\","
                    + "\"tls_mode\":\"passthrough\",\"target_addr\":\"127.0.0.1:8443\"}");
            String serviceId = service.get("id").asText();
            ApiClient.Response patched = testbed.api().patch("/api/services/" + serviceId, "{\"health_path\":\"/up\"}");
            assertThat(patched.status()).as("%s", patched).isEqualTo(400);
            assertThat(patched.json().get("message").asText()).contains("passthrough");
            // Without a health_path (or with null) it is taken, and a health_check switch still is.
            assertThat(testbed.api().patch("/api/services/" + serviceId, "{\"health_check\":false,\"health_path\":null}")
                    .status()).isEqualTo(200);
        }
    }

    @Test
    void aServiceMadePassthroughShowsNoHealthPathAndKeepsNone() {
        try (Testbed testbed = new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1h"))) {
            String id = testbed.createTunnel("made-passthrough").get("id").asText();
            JsonNode created = testbed.createService(id, "{\"type\":\"http\",\"domain\":\"app.example.test\","
                    + "\"target_addr\":\"127.0.0.1:8080\",\"health_path\":\"/healthz\"}");
            assertThat(created.get("health_path").asText()).isEqualTo("/healthz");
            String serviceId = created.get("id").asText();

            ApiClient.Response passthrough = testbed.api().patch("/api/services/" + serviceId,
                    "{\"tls_mode\":\"passthrough\"}");
            assertThat(passthrough.status()).as("%s", passthrough).isEqualTo(200);
            assertThat(passthrough.json().get("tls_mode").asText()).isEqualTo("passthrough");
            assertThat(passthrough.json().has("health_path")).isTrue();
            assertThat(passthrough.json().get("health_path").isNull()).as("%s", passthrough).isTrue();
            JsonNode listed = testbed.api().get("/api/tunnels/" + id + "/services").json().get(0);
            assertThat(listed.get("health_path").isNull()).as("%s", listed).isTrue();

            // Made to terminate TLS again, it is checked at the default "/", not at the path dropped on the way.
            ApiClient.Response terminated = testbed.api().patch("/api/services/" + serviceId,
                    "{\"tls_mode\":\"terminate\"}");
            assertThat(terminated.status()).as("%s", terminated).isEqualTo(200);
            assertThat(terminated.json().get("health_path").asText()).isEqualTo("/");
        }
    }

    @Test
    void aPassthroughServiceCreatedThroughTheApiShowsANullHealthPath() {
        try (Testbed testbed = new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1h"))) {
            String id = testbed.createTunnel("passthrough-json").get("id").asText();
            JsonNode service = testbed.createService(id, "{\"type\":\"http\",\"domain\":\"tls.example.test\","
                    + "\"tls_mode\":\"passthrough\",\"target_addr\":\"127.0.0.1:8443\"}");
            assertThat(service.has("health_path")).isTrue();
            assertThat(service.get("health_path").isNull()).as("%s", service).isTrue();
            JsonNode fetched = testbed.api().get("/api/services").json().get(0);
            assertThat(fetched.get("health_path").isNull()).as("%s", fetched).isTrue();
        }
    }
}
