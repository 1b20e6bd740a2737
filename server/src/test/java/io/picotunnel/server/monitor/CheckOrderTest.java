package io.picotunnel.server.monitor;

import io.picotunnel.server.store.Store;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The newest checks and state change of a tunnel or service (its state and since when in the stats, the status page's
 * heartbeats, the checks list) are the last recorded, not the latest by the server's clock, which can be set back;
 * and they are read without sorting all of the subject's rows.
 */
class CheckOrderTest {

    @TempDir
    Path dataDir;

    @Test
    void theNewestCheckAndStateChangeAreTheLastRecordedWhenTheClockStepsBack() {
        try (Store store = Store.open(dataDir)) {
            CheckStore checks = new CheckStore(store.database());
            Subject tunnel = Subject.tunnel(store.createTunnel("stepped").id());
            Instant noon = Instant.parse("2026-06-01T12:00:00Z");
            Check up = Check.up(tunnel, 5, noon);
            checks.record(List.of(up), List.of(up));
            // NTP sets the clock back an hour, then the tunnel goes down: its check has the earlier time.
            Check down = Check.down(tunnel, "no client is connected", noon.minus(Duration.ofHours(1)).plusSeconds(30));
            checks.record(List.of(down), List.of(down));

            assertThat(checks.recent(tunnel, 2)).extracting(Check::status)
                    .containsExactly(CheckStatus.DOWN, CheckStatus.UP);
            assertThat(checks.recent(tunnel, 1)).extracting(Check::status).containsExactly(CheckStatus.DOWN);
            assertThat(checks.lastChange(tunnel)).map(Check::status).contains(CheckStatus.DOWN);
        }
    }

    @Test
    void theNewestChecksStateChangeAndEventsAreReadThroughAnIndexNotSortedWhole() {
        try (Store store = Store.open(dataDir)) {
            // The events list of one tunnel, as EventLog.recent asks for it.
            String events = "SELECT id, tunnel_id, service_id, type, message, created_at FROM events WHERE tunnel_id = ?"
                    + " ORDER BY id DESC LIMIT ?";
            for (String query : List.of(CheckStore.RECENT, CheckStore.LAST_CHANGE, events)) {
                List<String> plan = store.database().read(connection -> {
                    List<String> steps = new ArrayList<>();
                    try (PreparedStatement explain = connection.prepareStatement("EXPLAIN QUERY PLAN " + query)) {
                        try (ResultSet rows = explain.executeQuery()) {
                            while (rows.next()) {
                                steps.add(rows.getString("detail"));
                            }
                        }
                    }
                    return steps;
                });
                assertThat(plan).as(query).noneMatch(step -> step.contains("TEMP B-TREE"))
                        .anyMatch(step -> step.startsWith("SEARCH"));
            }
        }
    }

    /**
     * A restart counts the checks of each run of a state between two check ids: through the index of the subject's
     * checks, which ends with the id, not every check of the subject (129 600 in 90 days at one a minute).
     */
    @Test
    void theChecksOfARunAreCountedThroughTheSubjectsIndexBetweenTwoIds() {
        try (Store store = Store.open(dataDir)) {
            for (String query : List.of(CheckStore.countRun("id", "id"), CheckStore.countRun("id", null))) {
                assertThat(plan(store, query)).as(query).singleElement().asString()
                        .startsWith("SEARCH checks USING COVERING INDEX checks_subject (").contains("rowid>?");
            }
        }
    }

    private static List<String> plan(Store store, String query) {
        return store.database().read(connection -> {
            List<String> steps = new ArrayList<>();
            try (PreparedStatement explain = connection.prepareStatement("EXPLAIN QUERY PLAN " + query);
                 ResultSet rows = explain.executeQuery()) {
                while (rows.next()) {
                    steps.add(rows.getString("detail"));
                }
            }
            return steps;
        });
    }
}
