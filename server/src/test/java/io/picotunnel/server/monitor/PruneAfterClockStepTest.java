package io.picotunnel.server.monitor;

import io.picotunnel.server.events.EventLog;
import io.picotunnel.server.store.Store;
import io.picotunnel.server.tunnel.TunnelRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Pruning by age when the server's wall clock steps (NTP, a VM resumed): a real monitor pruning a real SQLite file,
 * given the wall clock's time and the real time passed.
 */
class PruneAfterClockStepTest {

    private static final Instant T = Instant.parse("2026-11-30T12:00:00Z");
    private static final Duration RETENTION = Duration.ofDays(30);
    private static final long MINUTE = Duration.ofMinutes(1).toNanos();

    @TempDir
    Path dataDir;

    private Store store;
    private CheckStore checks;
    private EventLog events;
    private Subject tunnel;
    private Monitor monitor;

    @BeforeEach
    void open() {
        store = Store.open(dataDir);
        checks = new CheckStore(store.database());
        events = new EventLog(store.database(), Clock.systemUTC());
        tunnel = Subject.tunnel(store.createTunnel("stepped").id());
        monitor = new Monitor(new MonitorSettings(Duration.ofMinutes(1), RETENTION, List.of(), 2, false), store,
                new TunnelRegistry(), checks, events, Clock.systemUTC());
    }

    @AfterEach
    void close() {
        monitor.close();
        events.close();
        store.close();
    }

    private void upAt(Instant at) {
        checks.record(List.of(Check.up(tunnel, 3, at)), List.of());
    }

    private List<Instant> stored() {
        return checks.recent(tunnel, 1000).stream().map(Check::createdAt).sorted().toList();
    }

    @Test
    void aClockSteppedForwardByAYearDeletesNoRecentCheck() {
        upAt(T.minus(Duration.ofDays(40)));
        upAt(T.minus(Duration.ofDays(10)));
        upAt(T);
        assertThat(monitor.prune(T, 0)).isEqualTo(T.minus(RETENTION));
        assertThat(stored()).containsExactly(T.minus(Duration.ofDays(10)), T);

        // A minute later the clock says a year later; it is set right a few minutes after.
        Instant stepped = T.plus(Duration.ofDays(365));
        monitor.prune(stepped, MINUTE);
        upAt(stepped);
        monitor.prune(stepped.plus(Duration.ofMinutes(1)), 2 * MINUTE);

        assertThat(stored()).as("checks of the last 30 days are kept").containsExactly(T.minus(Duration.ofDays(10)), T,
                stepped);
    }

    @Test
    void aClockSetBackDoesNotStopThePruning() {
        upAt(T);
        monitor.prune(T, 0);
        // The clock is set back an hour; a check older than the retention by that clock is then found (it could be
        // one recorded long ago with a clock far behind).
        Instant back = T.minus(Duration.ofHours(1));
        Instant old = back.minus(RETENTION).minus(Duration.ofMinutes(30));
        upAt(old);

        Instant cut = monitor.prune(back.plus(Duration.ofMinutes(2)), 2 * MINUTE);

        assertThat(cut).as("pruned two minutes of real time after the last prune").isNotNull();
        assertThat(stored()).containsExactly(T);
    }

    @Test
    void theFirstPruneAfterALongStopKeepsTheLastRetentionOfChecks() {
        upAt(T.minus(Duration.ofDays(45)));
        upAt(T.minus(Duration.ofDays(20)));
        upAt(T);
        // The server was stopped for 25 days.
        monitor.prune(T.plus(Duration.ofDays(25)), 0);

        assertThat(stored()).containsExactly(T.minus(Duration.ofDays(20)), T);
    }

    @Test
    void pruningRunsOnceAMinuteOfRealTime() {
        upAt(T);
        assertThat(monitor.prune(T, 0)).isNotNull();
        assertThat(monitor.prune(T.plus(Duration.ofMinutes(5)), MINUTE / 2)).isNull();
        assertThat(monitor.prune(T.plus(Duration.ofMinutes(5)), MINUTE)).isNotNull();
    }
}
