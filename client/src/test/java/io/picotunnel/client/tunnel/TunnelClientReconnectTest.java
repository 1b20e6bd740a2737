package io.picotunnel.client.tunnel;

import ch.qos.logback.classic.Level;
import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.ServerAddress;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** How the client retries a server that accepts the WebSocket upgrade and then drops the connection. */
class TunnelClientReconnectTest {

    private static final String TOKEN = "d".repeat(64);

    private DroppingTunnelServer server;
    private TunnelClient client;

    @AfterEach
    void tearDown() throws Exception {
        if (client != null) {
            client.stop(Duration.ZERO).join();
        }
        if (server != null) {
            server.close();
        }
    }

    private void startClient(Backoff backoff) {
        client = new TunnelClient(ClientConfig.of(ServerAddress.parse("ws://" + server.address()), TOKEN)
                .withShutdownGrace(Duration.ZERO), YamuxConfig.defaults(), backoff);
        client.start();
    }

    @Test
    void serverThatAcceptsTheUpgradeAndDropsAtOnceIsRetriedWithGrowingDelays() {
        server = new DroppingTunnelServer(Duration.ZERO);
        startClient(new Backoff());

        await().atMost(Duration.ofSeconds(30)).until(() -> server.upgrades().size() >= 4);

        // Delays of 1, 2 and 4 s, each shortened by up to a fifth: every gap clearly longer than the one before.
        List<Long> gaps = server.gapsMillis().subList(0, 3);
        assertThat(gaps.get(0)).as("gaps %s", gaps).isGreaterThanOrEqualTo(750);
        assertThat(gaps.get(1)).as("gaps %s", gaps).isGreaterThan(gaps.get(0) * 7 / 5);
        assertThat(gaps.get(2)).as("gaps %s", gaps).isGreaterThan(gaps.get(1) * 7 / 5);
        assertThat(client.state()).isNotEqualTo(TunnelClient.State.TOKEN_REJECTED);
    }

    @Test
    void aDroppedConnectionIsLoggedWithItsReconnectDelayAsOtherLinesWriteDurations() {
        server = new DroppingTunnelServer(Duration.ZERO);
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            startClient(new Backoff(() -> 0.0));

            await().atMost(Duration.ofSeconds(30)).until(() -> log.messages(Level.WARN).stream()
                    .anyMatch(line -> line.startsWith("disconnected from ")));
            // Without jitter the first delay is 1 s, written as "1 s", not "1000 ms".
            assertThat(log.messages(Level.WARN)).filteredOn(line -> line.startsWith("disconnected from "))
                    .first().asString().endsWith("; reconnecting in 1 s");
        }
    }

    @Test
    void connectionThatStayedUpPastTheThresholdStartsTheDelaysOver() {
        server = new DroppingTunnelServer(Duration.ofMillis(400));
        startClient(new Backoff(() -> 0.0, Duration.ofMillis(200), System::nanoTime));

        await().atMost(Duration.ofSeconds(30)).until(() -> server.upgrades().size() >= 4);

        // Each connection lasted 400 ms, past the 200 ms threshold: every retry waits the first delay again.
        List<Long> gaps = server.gapsMillis().subList(0, 3);
        assertThat(gaps).as("gaps").allSatisfy(gap -> assertThat(gap).isBetween(1_300L, 1_900L));
    }
}
