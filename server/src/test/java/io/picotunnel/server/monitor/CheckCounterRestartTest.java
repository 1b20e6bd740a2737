package io.picotunnel.server.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.testbed.Testbed;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code picotunnel_checks_total} counts the checks made since the server started, as docs/monitoring.md says: it
 * starts from 0 at each start (Prometheus' rate() and increase() take that as a counter reset), unlike the traffic
 * counters, which start from the figures in the database.
 */
class CheckCounterRestartTest {

    @TempDir
    Path dataDir;

    @Test
    void checksTotalCountsTheChecksSinceTheServerStartedNotThoseInTheDatabase() {
        try (Testbed testbed = new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1s"))) {
            JsonNode tunnel = testbed.createTunnel("counted");
            String id = tunnel.get("id").asText();
            testbed.connect(id, tunnel.get("token").asText());
            await().atMost(20, TimeUnit.SECONDS).until(() -> testbed.checks(id, null, 1000).size() >= 4);
            assertThat(checksTotal(testbed, id)).isGreaterThanOrEqualTo(4);

            Instant restarted = Instant.now();
            testbed.restart();
            await().atMost(20, TimeUnit.SECONDS).until(() -> checksTotal(testbed, id) >= 1);

            double counted = checksTotal(testbed, id);
            long since = 0;
            long stored = 0;
            for (JsonNode check : testbed.checks(id, null, 1000)) {
                stored++;
                if (!Instant.parse(check.get("created_at").asText()).isBefore(restarted)) {
                    since++;
                }
            }
            assertThat(counted).as("checks counted after the restart").isLessThanOrEqualTo(since);
            assertThat(stored).as("checks stored").isGreaterThanOrEqualTo(since + 4);
        }
    }

    /** The sum of picotunnel_checks_total over the statuses of the tunnel's own checks (0 when none). */
    private static double checksTotal(Testbed testbed, String tunnelId) {
        ApiClient.Response scraped = testbed.api().get("/metrics");
        assertThat(scraped.status()).isEqualTo(200);
        double sum = 0;
        for (String line : scraped.raw().body().split("\n")) {
            if (line.startsWith("picotunnel_checks_total{") && line.contains("tunnel=\"" + tunnelId + "\"")
                    && line.contains("service=\"\"")) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }
}
