package io.picotunnel.server.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.events.EventLog;
import io.picotunnel.server.store.Store;
import io.picotunnel.server.tunnel.TunnelRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A restart restores the alerts from the checks of each run of a state (how many in a row, since when), and the
 * server's clock may have been set back (NTP, a VM resumed) between two checks of a run: the runs are counted in the
 * order the checks were recorded. A real monitor on a real SQLite file checks a tunnel with no client (down every
 * round); its up checks from while a client was connected are recorded as the monitor records them.
 */
class RestartAfterClockStepTest {

    private static final int ALERT_AFTER = 5;
    private static final Duration INTERVAL = Duration.ofMillis(300);
    private static final Duration STEP = Duration.ofHours(1);

    @TempDir
    Path dataDir;

    /** The system's clock, which the test sets back as NTP would. */
    private static final class SteppedClock extends Clock {
        private volatile Duration offset = Duration.ZERO;

        void setBack(Duration by) {
            offset = offset.minus(by);
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return Instant.now().plus(offset);
        }
    }

    /**
     * The clock is set back an hour after the last up check; the tunnel is then down for fewer checks than the alert
     * threshold when the server stops. Counted by time, the down run held the up checks of the hour after it, and
     * the restart took the down as confirmed: the outage was never alerted.
     */
    @Test
    void aDownNotYetConfirmedWhenTheClockWasSetBackIsAlertedAfterARestart() {
        SteppedClock clock = new SteppedClock();
        try (Store store = Store.open(dataDir, clock); WebhookReceiver receiver = new WebhookReceiver(0);
             EventLog events = new EventLog(store.database(), clock)) {
            CheckStore checks = new CheckStore(store.database());
            Subject tunnel = Subject.tunnel(store.createTunnel("stepped").id());
            recordUpChecks(checks, tunnel, clock.instant().minus(Duration.ofMinutes(ALERT_AFTER)));
            clock.setBack(STEP);

            try (Monitor monitor = monitor(store, checks, events, clock, receiver)) {
                monitor.start();
                await().atMost(10, TimeUnit.SECONDS).until(() -> downChecks(checks, tunnel) >= 1);
                monitor.stopChecking();
            }
            assertThat(downChecks(checks, tunnel)).as("down checks before the restart").isLessThan(ALERT_AFTER);
            assertThat(receiver.tunnelMessages(tunnel.tunnelId())).isEmpty();

            try (Monitor restarted = monitor(store, checks, events, clock, receiver)) {
                restarted.start();
                await().atMost(20, TimeUnit.SECONDS).until(() -> downChecks(checks, tunnel) >= ALERT_AFTER + 2);
                restarted.stopChecking();
            }
            Check firstDown = checks.lastChange(tunnel).orElseThrow();
            assertThat(firstDown.status()).isEqualTo(CheckStatus.DOWN);
            List<JsonNode> messages = receiver.tunnelMessages(tunnel.tunnelId());
            assertThat(messages).as("webhook messages").extracting(m -> m.get("status").asText())
                    .containsExactly("down");
            assertThat(Instant.parse(messages.getFirst().get("since").asText())).isEqualTo(firstDown.createdAt());
        }
    }

    /**
     * The tunnel goes down, the clock is set back an hour, and the down is alerted once it held for the threshold;
     * then the server restarts. Counted by time, the down run had only its first check (the others are an hour
     * earlier), the restart took the down as not yet confirmed and alerted it a second time.
     */
    @Test
    void aDownAlertedAcrossAClockSetBackIsNotAlertedAgainAfterARestart() {
        SteppedClock clock = new SteppedClock();
        try (Store store = Store.open(dataDir, clock); WebhookReceiver receiver = new WebhookReceiver(0);
             EventLog events = new EventLog(store.database(), clock)) {
            CheckStore checks = new CheckStore(store.database());
            Subject tunnel = Subject.tunnel(store.createTunnel("stepped").id());
            recordUpChecks(checks, tunnel, clock.instant().minus(Duration.ofMinutes(ALERT_AFTER + 1)));

            try (Monitor monitor = monitor(store, checks, events, clock, receiver)) {
                monitor.start();
                await().atMost(10, TimeUnit.SECONDS).until(() -> downChecks(checks, tunnel) >= 1);
                clock.setBack(STEP);
                await().atMost(20, TimeUnit.SECONDS).until(() -> !receiver.tunnelMessages(tunnel.tunnelId()).isEmpty());
                monitor.stopChecking();
            }
            long beforeRestart = downChecks(checks, tunnel);

            try (Monitor restarted = monitor(store, checks, events, clock, receiver)) {
                restarted.start();
                await().atMost(20, TimeUnit.SECONDS).until(() -> downChecks(checks, tunnel) >= beforeRestart + ALERT_AFTER);
                restarted.stopChecking();
            }
            assertThat(receiver.tunnelMessages(tunnel.tunnelId())).as("webhook messages")
                    .extracting(m -> m.get("status").asText()).containsExactly("down");
        }
    }

    private static Monitor monitor(Store store, CheckStore checks, EventLog events, Clock clock,
                                   WebhookReceiver receiver) {
        MonitorSettings settings = new MonitorSettings(INTERVAL, Duration.ofDays(90), List.of(URI.create(receiver.url())),
                ALERT_AFTER, false);
        return new Monitor(settings, store, new TunnelRegistry(), checks, events, clock);
    }

    /** {@code ALERT_AFTER} up checks a minute apart from {@code from}, the first a change of state: confirmed up. */
    private static void recordUpChecks(CheckStore checks, Subject tunnel, Instant from) {
        List<Check> ups = new ArrayList<>();
        for (int i = 0; i < ALERT_AFTER; i++) {
            ups.add(Check.up(tunnel, 3, from.plus(Duration.ofMinutes(i))));
        }
        checks.record(ups.subList(0, 1), ups.subList(0, 1));
        checks.record(ups.subList(1, ups.size()), List.of());
    }

    private static long downChecks(CheckStore checks, Subject tunnel) {
        return checks.recent(tunnel, 1000).stream().filter(check -> check.status() == CheckStatus.DOWN).count();
    }
}
