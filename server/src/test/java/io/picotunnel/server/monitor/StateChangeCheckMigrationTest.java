package io.picotunnel.server.monitor;

import io.picotunnel.server.store.OldSchema;
import io.picotunnel.server.store.Store;
import org.assertj.core.groups.Tuple;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

/**
 * Migration V45: the state changes stored before it get the id of the check recorded with them where one check
 * matches; the others keep none and their runs are counted by time, as before. No row is lost.
 */
class StateChangeCheckMigrationTest {

    private static final int CHECK_ID_VERSION = 45;
    /** The clock was set back an hour after its first down check. */
    private static final String STEPPED = "000000000000000a";
    /** Two down checks of the same millisecond: the clock was set back a minute. */
    private static final String TWICE = "000000000000000b";
    /** Its state change is older than any check left: they were pruned. */
    private static final String PRUNED = "000000000000000c";
    private static final String DOWN = "no client connected";

    @TempDir
    Path dataDir;

    @Test
    void changesFromBeforeGetTheirChecksIdWhereOneMatchesAndTheRunsAreCountedByIt() throws Exception {
        OldSchema.write(dataDir, CHECK_ID_VERSION, c -> {
            for (String tunnel : List.of(STEPPED, TWICE, PRUNED)) {
                OldSchema.tunnel(c, tunnel, "t" + tunnel, tunnel.repeat(4));
            }
            check(c, 1, STEPPED, null, "12:00");
            check(c, 2, STEPPED, null, "12:01");
            check(c, 3, STEPPED, DOWN, "12:02");
            check(c, 4, STEPPED, DOWN, "11:03");
            check(c, 5, STEPPED, DOWN, "11:04");
            change(c, STEPPED, null, "12:00");
            change(c, STEPPED, DOWN, "12:02");
            check(c, 6, TWICE, DOWN, "12:00");
            check(c, 7, TWICE, DOWN, "12:01");
            check(c, 8, TWICE, DOWN, "12:00");
            change(c, TWICE, DOWN, "12:00");
            check(c, 9, PRUNED, null, "12:00");
            check(c, 10, PRUNED, null, "12:01");
            change(c, PRUNED, null, "10:00");
        });

        try (Store store = Store.open(dataDir)) {
            assertThat(store.database().read(StateChangeCheckMigrationTest::changes)).containsExactly(
                    tuple(STEPPED, "up", 1L), tuple(STEPPED, "down", 3L), tuple(TWICE, "down", null),
                    tuple(PRUNED, "up", null));
            long checksKept = store.database().read(connection -> count(connection, "checks"));
            assertThat(checksKept).isEqualTo(10);

            CheckStore checks = new CheckStore(store.database());
            assertThat(runs(checks, STEPPED)).containsExactly(tuple(CheckStatus.DOWN, 3L), tuple(CheckStatus.UP, 2L));
            assertThat(runs(checks, TWICE)).containsExactly(tuple(CheckStatus.DOWN, 3L));
            assertThat(runs(checks, PRUNED)).containsExactly(tuple(CheckStatus.UP, 2L));

            // A change recorded now has its check's id: the old run ends there.
            Check down = Check.down(Subject.tunnel(PRUNED), DOWN, at("11:00"));
            checks.record(List.of(down), List.of(down));
            assertThat(runs(checks, PRUNED)).containsExactly(tuple(CheckStatus.DOWN, 1L), tuple(CheckStatus.UP, 2L));
        }
    }

    private static List<Tuple> runs(CheckStore checks, String tunnel) {
        return checks.runs(Subject.tunnel(tunnel), Integer.MAX_VALUE, 10).stream()
                .map(run -> tuple(run.change().status(), run.checks())).toList();
    }

    private static Instant at(String time) {
        return Instant.parse("2026-06-01T" + time + ":00Z");
    }

    /** A check of a tunnel as the schema before V45 stored it: up when {@code error} is null. */
    private static void check(Connection c, long id, String tunnel, String error, String time) throws SQLException {
        try (PreparedStatement insert = c.prepareStatement("INSERT INTO checks (id, tunnel_id, status, latency_ms, error,"
                + " created_at) VALUES (?, ?, ?, ?, ?, ?)")) {
            insert.setLong(1, id);
            insert.setString(2, tunnel);
            insert.setString(3, error == null ? "up" : "down");
            if (error == null) {
                insert.setLong(4, 3);
            } else {
                insert.setNull(4, Types.INTEGER);
            }
            insert.setString(5, error);
            insert.setLong(6, at(time).toEpochMilli());
            insert.executeUpdate();
        }
    }

    private static void change(Connection c, String tunnel, String error, String time) throws SQLException {
        try (PreparedStatement insert = c.prepareStatement("INSERT INTO state_changes (tunnel_id, status, error,"
                + " created_at) VALUES (?, ?, ?, ?)")) {
            insert.setString(1, tunnel);
            insert.setString(2, error == null ? "up" : "down");
            insert.setString(3, error);
            insert.setLong(4, at(time).toEpochMilli());
            insert.executeUpdate();
        }
    }

    private static List<Tuple> changes(Connection connection) throws SQLException {
        List<Tuple> changes = new ArrayList<>();
        try (Statement select = connection.createStatement();
             ResultSet rows = select.executeQuery("SELECT tunnel_id, status, check_id FROM state_changes ORDER BY id")) {
            while (rows.next()) {
                String tunnel = rows.getString("tunnel_id");
                String status = rows.getString("status");
                long checkId = rows.getLong("check_id");
                changes.add(tuple(tunnel, status, rows.wasNull() ? null : checkId));
            }
        }
        return changes;
    }

    private static long count(Connection connection, String table) throws SQLException {
        try (Statement select = connection.createStatement();
             ResultSet row = select.executeQuery("SELECT COUNT(*) FROM " + table)) {
            row.next();
            return row.getLong(1);
        }
    }
}
