package io.picotunnel.server.monitor;

import io.picotunnel.server.events.EventLog;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.Store;
import io.picotunnel.server.store.TlsMode;
import io.picotunnel.server.tunnel.TunnelRegistry;
import io.picotunnel.testkit.ManualClock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A service's target is often started along with it (the README's walkthrough starts python, then creates the
 * service): a probe at the next round, which may come at once, found it still starting, logged "connection refused"
 * as a WARN on the client and recorded the new service down. Its first probe waits one interval, at most 10 s.
 */
class NewServiceFirstCheckTest {

    private static final Duration INTERVAL = Duration.ofMillis(300);

    @TempDir
    Path dataDir;

    @Test
    void aNewServiceIsFirstCheckedOneIntervalAfterItWasCreatedNotAtTheNextRound() throws Exception {
        ManualClock clock = new ManualClock(Instant.parse("2026-06-01T12:00:00Z"));
        try (Store store = Store.open(dataDir, clock); EventLog events = new EventLog(store.database(), clock)) {
            CheckStore checks = new CheckStore(store.database());
            String tunnelId = store.createTunnel("new-service").id();
            Subject tunnel = Subject.tunnel(tunnelId);
            Subject service = new Subject(tunnelId, store.createService(new Service(null, tunnelId, ServiceType.TCP,
                    null, "/", TlsMode.TERMINATE, "127.0.0.1:15101", "localhost:9000", true, null)).orElseThrow().id());
            MonitorSettings settings = new MonitorSettings(INTERVAL, Duration.ofDays(90), List.of(), 1, false);
            try (Monitor monitor = new Monitor(settings, store, new TunnelRegistry(), checks, events, clock)) {
                monitor.start();

                await().atMost(10, TimeUnit.SECONDS).until(() -> checks.recent(tunnel, 10).size() >= 3);
                assertThat(checks.recent(service, 10)).as("checks of the service created this instant").isEmpty();

                clock.advance(INTERVAL);
                await().atMost(10, TimeUnit.SECONDS).until(() -> !checks.recent(service, 1).isEmpty());
                assertThat(checks.recent(service, 1).get(0).error()).isEqualTo("no client connected");
            }
        }
    }

    /**
     * Re-enabling a service, or giving it another target, is as good as creating it: its target is often started along
     * with the change. Its next probe waits one interval after the change, not the next round.
     */
    @ParameterizedTest
    @ValueSource(strings = {"re-enabled", "given another target"})
    void aServiceReEnabledOrGivenAnotherTargetIsNextCheckedOneIntervalAfterTheChange(String change) throws Exception {
        ManualClock clock = new ManualClock(Instant.parse("2026-06-01T12:00:00Z"));
        try (Store store = Store.open(dataDir, clock); EventLog events = new EventLog(store.database(), clock)) {
            CheckStore checks = new CheckStore(store.database());
            String tunnelId = store.createTunnel("changed-service").id();
            Subject tunnel = Subject.tunnel(tunnelId);
            boolean enabledAtFirst = !change.equals("re-enabled");
            String serviceId = store.createService(new Service(null, tunnelId, ServiceType.TCP, null, "/",
                    TlsMode.TERMINATE, "127.0.0.1:15102", "localhost:9000", enabledAtFirst, null)).orElseThrow().id();
            Subject service = new Subject(tunnelId, serviceId);
            clock.advance(INTERVAL);
            MonitorSettings settings = new MonitorSettings(INTERVAL, Duration.ofDays(90), List.of(), 1, false);
            try (Monitor monitor = new Monitor(settings, store, new TunnelRegistry(), checks, events, clock)) {
                monitor.start();
                if (enabledAtFirst) {
                    await().atMost(10, TimeUnit.SECONDS).until(() -> !checks.recent(service, 1).isEmpty());
                }

                store.updateService(serviceId, s -> new Service(s.id(), s.tunnelId(), s.type(), s.domain(),
                        s.pathPrefix(), s.tlsMode(), s.listenAddr(), enabledAtFirst ? "localhost:9001" : s.targetAddr(),
                        true, s.createdAt()));
                // A round in flight as the change was made may still record its check: two rounds later none is.
                int roundsBefore = checks.recent(tunnel, 1000).size();
                await().atMost(10, TimeUnit.SECONDS).until(() -> checks.recent(tunnel, 1000).size() >= roundsBefore + 2);
                int checksAfterTheChange = checks.recent(service, 1000).size();
                int roundsThen = checks.recent(tunnel, 1000).size();
                await().atMost(10, TimeUnit.SECONDS).until(() -> checks.recent(tunnel, 1000).size() >= roundsThen + 3);
                assertThat(checks.recent(service, 1000)).as("checks of the service " + change + " this instant")
                        .hasSize(checksAfterTheChange);

                clock.advance(INTERVAL);
                await().atMost(10, TimeUnit.SECONDS).until(() -> checks.recent(service, 1000).size() > checksAfterTheChange);
            }
        }
    }

    @Test
    void theFirstCheckWaitsAtMostTenSecondsWhateverTheInterval() {
        assertThat(Monitor.firstServiceCheckAfter(Duration.ofSeconds(1))).isEqualTo(Duration.ofSeconds(1));
        assertThat(Monitor.firstServiceCheckAfter(Duration.ofMinutes(1)))
                .isEqualTo(Monitor.MAX_FIRST_SERVICE_CHECK_AFTER).isEqualTo(Duration.ofSeconds(10));
    }
}
