package io.picotunnel.server.monitor;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.SilentPeer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The check interval and a probe's timeout read in the log and in checks as every other duration people read. */
class ProbeTimeoutWordingTest {

    @TempDir
    Path dataDir;

    @Test
    void aTargetThatNeverAnswersIsDownWithTheTimeoutWrittenAsElsewhere() throws Exception {
        try (SilentPeer silent = SilentPeer.readingNothing();
             LogCapture log = new LogCapture(Monitor.class, Level.INFO)) {
            Testbed testbed = new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1500ms"));
            try {
                String tunnelId = testbed.createConnectedTunnel("silent");
                String target = silent.address();
                String serviceId = testbed.createTcpServiceOnFreePort(tunnelId, target).id();

                await().atMost(20, TimeUnit.SECONDS).until(() -> testbed.checks(tunnelId, serviceId, 1).size() == 1);
                JsonNode check = testbed.checks(tunnelId, serviceId, 1).get(0);
                assertThat(check.get("status").asText()).as("%s", check).isEqualTo("down");
                assertThat(check.get("error").asText()).isEqualTo("no answer from " + target + " within 1.5 s");
                assertThat(log.messages(Level.INFO)).contains("Checking tunnels and services every 1.5 s");
            } finally {
                testbed.close();
            }
        }
    }
}
