package io.picotunnel.server.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.testbed.Testbed;
import org.junit.jupiter.api.AfterEach;
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

    private Testbed testbed;
    private final RecordingTarget app = new RecordingTarget("my app");

    @AfterEach
    void stop() {
        if (testbed != null) {
            testbed.close();
        }
        app.close();
    }

    @Test
    void anHttpServiceWhoseTargetHasAnUnderscoreIsReachedThroughTheTunnel() throws Exception {
        testbed = new Testbed(dataDir);
        JsonNode tunnel = testbed.createTunnel("t");
        String tunnelId = tunnel.get("id").asText();
        String target = "my_app.localhost:" + app.address().substring(app.address().lastIndexOf(':') + 1);
        JsonNode service = testbed.createService(tunnelId, "{\"type\":\"http\",\"domain\":\"app.localhost\","
                + "\"target_addr\":\"" + target + "\"}");
        assertThat(service.get("target_addr").asText()).isEqualTo(target);
        testbed.connect(tunnelId, tunnel.get("token").asText());
        int port = testbed.server().httpPort();

        Visitor.Response response = new Visitor("127.0.0.1").get(port, "app.localhost:" + port, "/");

        assertThat(response.status()).as(response.toString()).isEqualTo(200);
        assertThat(response.body()).isEqualTo("my app");
        assertThat(app.requestCount()).isEqualTo(1);
    }
}
