package io.picotunnel.server.monitor;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.picotunnel.server.tunnel.TunnelRegistry;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class MonitorCloseTest {

    /**
     * A stop that is interrupted (told to hurry, or interrupted while it waited for the checks to end) still gives
     * alerts on their way the webhooks' grace: the interrupt used to end that wait at once, dropping them.
     */
    @Test
    void alertsOnTheirWayAreStillDeliveredWithinTheGraceWhenTheStopIsInterrupted() {
        try (WebhookReceiver receiver = new WebhookReceiver(1)) {
            Webhooks webhooks = new Webhooks(List.of(URI.create(receiver.url())), Duration.ofSeconds(20));
            Monitor monitor = new Monitor(new MonitorSettings(Duration.ofHours(1), Duration.ofDays(1), List.of(), 1, false),
                    null, new TunnelRegistry(), null, null, Clock.systemUTC(), webhooks);
            // Refused once, so still on its way (tried again after a second) when the stop begins.
            webhooks.send("down", JsonNodeFactory.instance.objectNode().put("n", 1));

            boolean interruptKept;
            Thread.currentThread().interrupt();
            try {
                monitor.close();
            } finally {
                interruptKept = Thread.interrupted();
            }

            assertThat(interruptKept).as("the interrupt is set again after the grace").isTrue();
            assertThat(receiver.messages()).extracting(m -> m.get("n").asInt()).containsExactly(1);
        }
    }
}
