package io.picotunnel.server.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A service whose target is named with '_', as Docker names containers and Compose services (my_app:8080), is
 * created and reached through the server and the client. Names below localhost resolve to loopback in tests.
 */
class UnderscoreTargetEndToEndTest {

    @TempDir
    Path dataDir;

    private HttpServicesTunnel tunnel;

    @BeforeEach
    void start() {
        tunnel = new HttpServicesTunnel(dataDir);
    }

    @AfterEach
    void stop() {
        tunnel.close();
    }

    @Test
    void anHttpServiceWhoseTargetHasAnUnderscoreIsReachedThroughTheTunnel() throws Exception {
        RecordingTarget app = tunnel.target("my app");
        String target = "my_app.localhost:" + app.address().substring(app.address().lastIndexOf(':') + 1);
        JsonNode service = tunnel.service("app.localhost", target);
        assertThat(service.get("target_addr").asText()).isEqualTo(target);
        int port = tunnel.connect();

        Visitor.Response response = new Visitor("127.0.0.1").get(port, "app.localhost:" + port, "/");

        assertThat(response.status()).as(response.toString()).isEqualTo(200);
        assertThat(response.body()).isEqualTo("my app");
        assertThat(app.requestCount()).isEqualTo(1);
    }
}
