package io.picotunnel.server.monitor;

import io.picotunnel.protocol.config.Durations;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/monitoring.md (and docs/protocol.md where it speaks of tunnel checks) give the monitor's fixed waits as the
 * constants that set them, so a new value cannot leave the docs saying the old one.
 */
class MonitoringDocsTest {

    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();

    private static String doc(String name) throws IOException {
        return Files.readString(ROOT.resolve("docs/" + name)).replaceAll("\\s+", " ");
    }

    private static String format(Duration duration) {
        return Durations.format(duration);
    }

    @Test
    void aChecksTimeoutIsTheMaxCheckTimeout() throws IOException {
        String timeout = format(MonitorSettings.MAX_CHECK_TIMEOUT);

        assertThat(doc("monitoring.md")).contains("The timeout of a ping or probe is " + timeout + ", or the interval")
                .contains("`ping timeout after " + timeout + "`")
                .contains("`no answer within " + timeout + "`")
                .contains("`no answer from <target> within " + timeout + "`");
        assertThat(doc("protocol.md")).contains("a tunnel check gives up sooner, after its own " + timeout + ",");
    }

    @Test
    void aNewServicesFirstCheckWaitsAtMostTheMaxFirstServiceCheckAfter() throws IOException {
        assertThat(doc("monitoring.md")).contains("A new service is first checked at the first round one interval after"
                + " it was created, or " + format(Monitor.MAX_FIRST_SERVICE_CHECK_AFTER) + " when the interval is longer");
    }

    @Test
    void trafficIsWrittenEveryFlushInterval() throws IOException {
        String every = format(Traffic.FLUSH_EVERY);

        assertThat(doc("monitoring.md")).contains("written to SQLite (`traffic`) every " + every + " and when")
                .contains("a crash loses at most the last " + every + ")");
    }

    @Test
    void webhookWaitsAreTheWebhooksOwn() throws IOException {
        assertThat(doc("monitoring.md"))
                .contains("(no answer within " + format(Webhooks.REQUEST_TIMEOUT) + ", 429 or 5xx)")
                .contains("(up to " + format(Webhooks.MAX_RETRY_AFTER) + ": Slack")
                .contains("the server waits up to " + format(Webhooks.CLOSE_GRACE) + " for messages still");
    }

    @Test
    void aFailedWebhookIsTriedAgainAfterDoublingDelays() throws IOException {
        List<String> delays = new ArrayList<>();
        for (int retry = 0; retry < Webhooks.ATTEMPTS - 1; retry++) {
            delays.add(Long.toString(Webhooks.FIRST_DELAY.toSeconds() << retry));
        }
        String last = delays.remove(delays.size() - 1);

        assertThat(doc("monitoring.md")).contains("is tried again after " + String.join(", ", delays) + " and " + last
                + " s, or later when");
    }

    @Test
    void thePublicStatusIsCachedForItsInterval() throws IOException {
        assertThat(doc("monitoring.md")).contains("The body is computed at most once every "
                + format(PublicStatus.CACHED_FOR) + " (so");
    }
}
