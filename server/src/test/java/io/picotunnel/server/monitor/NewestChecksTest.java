package io.picotunnel.server.monitor;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.picotunnel.server.store.Store;
import io.picotunnel.testkit.ManualClock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

/**
 * The newest check and change of state of a tunnel are the last recorded, not those of the latest time: the time is
 * the server's clock, which NTP can set back.
 */
class NewestChecksTest {

    private static final Instant START = Instant.parse("2026-06-01T12:00:00Z");

    @TempDir
    Path dataDir;

    @Test
    void theLastRecordedCheckAndChangeOfStateAreTheNewestWhenTheClockStepsBack() {
        ManualClock clock = new ManualClock(START);
        try (Store store = Store.open(dataDir, clock)) {
            CheckStore checks = new CheckStore(store.database());
            Subject tunnel = Subject.tunnel(store.createTunnel("stepped").id());
            upTwiceThenDownThenTheClockSetBack(checks, tunnel, clock);
            checks.record(List.of(Check.down(tunnel, "no client connected", clock.instant())), List.of());
            clock.advance(Duration.ofMinutes(1));
            Check upAgain = Check.up(tunnel, 3, clock.instant());
            checks.record(List.of(upAgain), List.of(upAgain));

            assertThat(checks.recent(tunnel, 10)).extracting(Check::status, Check::createdAt).containsExactly(
                    tuple(CheckStatus.UP, START.plus(Duration.ofMinutes(3)).minus(Duration.ofHours(1))),
                    tuple(CheckStatus.DOWN, START.plus(Duration.ofMinutes(2)).minus(Duration.ofHours(1))),
                    tuple(CheckStatus.DOWN, START.plus(Duration.ofMinutes(2))),
                    tuple(CheckStatus.UP, START.plus(Duration.ofMinutes(1))),
                    tuple(CheckStatus.UP, START));
            assertThat(checks.lastChange(tunnel)).map(Check::createdAt).contains(upAgain.createdAt());
            assertThat(checks.runs(tunnel, Integer.MAX_VALUE, 10)).extracting(run -> run.change().status())
                    .containsExactly(CheckStatus.UP, CheckStatus.DOWN, CheckStatus.UP);
            ObjectNode stats = new Stats(checks, clock).of(tunnel);
            assertThat(stats.get("status").asText()).isEqualTo("up");
            assertThat(stats.get("since").asText()).isEqualTo("2026-06-01T11:03:00.000Z");
            assertThat(stats.get("last_checked_at").asText()).isEqualTo("2026-06-01T11:03:00.000Z");

            // All three changes are before the cut: the one kept, which says the state, is the last recorded.
            checks.prune(START.plus(Duration.ofMinutes(5)));
            assertThat(checks.changes(tunnel, Instant.EPOCH)).extracting(Check::createdAt)
                    .containsExactly(upAgain.createdAt());
            assertThat(checks.lastChange(tunnel)).map(Check::status).contains(CheckStatus.UP);
        }
    }

    /**
     * The checks of a run of one state (what a restart restores the alerts from: how many in a row) are those recorded
     * from its change on, until the next change: by time, a run after the clock was set back took in the later times
     * of the runs before it, and those lost their checks to it.
     */
    @Test
    void eachRunCountsTheChecksRecordedInItWhenTheClockStepsBack() {
        ManualClock clock = new ManualClock(START);
        try (Store store = Store.open(dataDir, clock)) {
            CheckStore checks = new CheckStore(store.database());
            Subject tunnel = Subject.tunnel(store.createTunnel("stepped").id());
            upTwiceThenDownThenTheClockSetBack(checks, tunnel, clock);
            for (int i = 0; i < 2; i++) {
                clock.advance(Duration.ofMinutes(1));
                checks.record(List.of(Check.down(tunnel, "no client connected", clock.instant())), List.of());
            }
            clock.advance(Duration.ofMinutes(1));
            Check upAgain = Check.up(tunnel, 3, clock.instant());
            checks.record(List.of(upAgain), List.of(upAgain));

            assertThat(checks.runs(tunnel, Integer.MAX_VALUE, 10))
                    .extracting(run -> run.change().status(), CheckStore.Run::checks)
                    .containsExactly(tuple(CheckStatus.UP, 1L), tuple(CheckStatus.DOWN, 3L), tuple(CheckStatus.UP, 2L));
            // The down run held for three checks: with a threshold of three the restart looks no further back.
            assertThat(checks.runs(tunnel, 3, 10)).extracting(CheckStore.Run::checks).containsExactly(1L, 3L);
        }
    }

    /**
     * Up at {@link #START} (a change of state) and a minute later, down a minute after that (a change), then the clock
     * set back an hour.
     */
    private static void upTwiceThenDownThenTheClockSetBack(CheckStore checks, Subject tunnel, ManualClock clock) {
        Check firstUp = Check.up(tunnel, 1, clock.instant());
        checks.record(List.of(firstUp), List.of(firstUp));
        clock.advance(Duration.ofMinutes(1));
        checks.record(List.of(Check.up(tunnel, 2, clock.instant())), List.of());
        clock.advance(Duration.ofMinutes(1));
        Check down = Check.down(tunnel, "no client connected", clock.instant());
        checks.record(List.of(down), List.of(down));
        clock.advance(Duration.ofHours(-1));
    }
}
