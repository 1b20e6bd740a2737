package io.picotunnel.server.monitor;

import io.picotunnel.server.store.Database;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Checks, state changes and per-service probe settings in SQLite (tables {@code checks}, {@code state_changes},
 * {@code service_checks}). Times are stored as epoch milliseconds; the index on (tunnel, service, id) serves
 * the newest checks of a subject, that on (tunnel, service, time) its checks of a time window. The uptime windows
 * are summed from {@code check_hours}, one row per subject and hour holding that hour's totals, which
 * {@link #record} and {@link #prune} keep equal to the checks of the hour; only the partial hour at a window's start
 * is counted from the checks themselves.
 *
 * <p>The newest check or state change is the last recorded (the highest id: AUTOINCREMENT, written in the order the
 * checks were made), not the latest created_at: that is the clock's time, and a clock set back (NTP, a VM resumed)
 * would make the state of an hour ago the current one. For the same reason each state change keeps the id of the
 * check that made it ({@code check_id}), and the checks of a run of one state (what a restart restores the alerts
 * from) are those between the ids of its change's check and the next change's. Windows of time (uptime, the changes
 * since a time, pruning by age) are by created_at: they are about time.
 */
public final class CheckStore {

    private static final String SELECT_CHECK = "SELECT id, tunnel_id, service_id, status, latency_ms, error, created_at FROM checks";
    /** A subject's newest checks (tunnel, service or null, limit), read in id order through checks_subject. */
    static final String RECENT = SELECT_CHECK + " WHERE tunnel_id = ? AND service_id IS ? ORDER BY id DESC LIMIT ?";
    /**
     * A subject's newest state change (tunnel, service or null), the last recorded, read through
     * state_changes_subject.
     */
    static final String LAST_CHANGE = "SELECT id, tunnel_id, service_id, status, NULL AS latency_ms, error,"
            + " created_at FROM state_changes WHERE tunnel_id = ? AND service_id IS ? ORDER BY state_changes.id DESC"
            + " LIMIT 1";
    static final long HOUR_MILLIS = 3_600_000;
    /** Tunnels per read of {@link #recentOfEachTunnel}. */
    static final int TUNNELS_PER_BATCH = 50;
    /** Service ids per query of {@link #settings(List)}: well under SQLite's limit of bound parameters. */
    private static final int SETTINGS_BATCH = 500;
    /** Of some checks: how many, how many up, and the sum and count of the latencies of the up ones. */
    private static final String TALLY_COLUMNS = "COUNT(*) AS total, COALESCE(SUM(status = 'up'), 0) AS up,"
            + " COALESCE(SUM(CASE WHEN status = 'up' THEN latency_ms END), 0) AS latency_sum,"
            + " COUNT(CASE WHEN status = 'up' THEN latency_ms END) AS latency_count";

    /** Checks in a time window: how many, how many up, the mean latency of the up ones (null when none). */
    public record Window(long total, long up, Double meanLatencyMs) {
    }

    /** Sums of some checks; the mean latency is the sum over the count, as SQL's AVG computes it. */
    private record Tally(long total, long up, long latencySum, long latencyCount) {
        static final Tally NONE = new Tally(0, 0, 0, 0);

        static Tally of(Check check) {
            boolean up = check.status() == CheckStatus.UP;
            boolean timed = up && check.latencyMs() != null;
            return new Tally(1, up ? 1 : 0, timed ? check.latencyMs() : 0, timed ? 1 : 0);
        }

        static Tally read(ResultSet row) throws SQLException {
            return new Tally(row.getLong("total"), row.getLong("up"), row.getLong("latency_sum"), row.getLong("latency_count"));
        }

        Tally plus(Tally other) {
            return new Tally(total + other.total, up + other.up, latencySum + other.latencySum,
                    latencyCount + other.latencyCount);
        }

        Window window() {
            return new Window(total, up, latencyCount == 0 ? null : (double) latencySum / latencyCount);
        }
    }

    private record SubjectHour(Subject subject, long hourStart) {
    }

    private final Database database;

    public CheckStore(Database database) {
        this.database = database;
    }

    /**
     * Stores {@code checks} and {@code changes} (state changes, as the checks that made them) in one transaction. A
     * change that is one of {@code checks} is stored with that check's id, which starts its run (see {@link #runs});
     * one that is not is stored without, and its run is counted by time.
     */
    public void record(List<Check> checks, List<Check> changes) {
        database.inTransaction(connection -> {
            List<Long> ids = insertChecks(connection, checks);
            insertChanges(connection, changes, checks, ids);
            addToHours(connection, checks);
            return null;
        });
    }

    private static void addToHours(Connection connection, List<Check> checks) throws SQLException {
        Map<SubjectHour, Tally> hours = new LinkedHashMap<>();
        for (Check check : checks) {
            hours.merge(new SubjectHour(check.subject(), hourStart(check.createdAt().toEpochMilli())), Tally.of(check),
                    Tally::plus);
        }
        if (hours.isEmpty()) {
            return;
        }
        try (PreparedStatement upsert = connection.prepareStatement("INSERT INTO check_hours (tunnel_id, service_id,"
                + " hour_start, total, up, latency_sum, latency_count) VALUES (?, ?, ?, ?, ?, ?, ?)"
                + " ON CONFLICT (tunnel_id, COALESCE(service_id, ''), hour_start) DO UPDATE SET"
                + " total = total + excluded.total, up = up + excluded.up, latency_sum = latency_sum + excluded.latency_sum,"
                + " latency_count = latency_count + excluded.latency_count")) {
            for (Map.Entry<SubjectHour, Tally> hour : hours.entrySet()) {
                Tally tally = hour.getValue();
                upsert.setString(1, hour.getKey().subject().tunnelId());
                upsert.setString(2, hour.getKey().subject().serviceId());
                upsert.setLong(3, hour.getKey().hourStart());
                upsert.setLong(4, tally.total());
                upsert.setLong(5, tally.up());
                upsert.setLong(6, tally.latencySum());
                upsert.setLong(7, tally.latencyCount());
                upsert.addBatch();
            }
            upsert.executeBatch();
        }
    }

    /** The start of the hour (UTC, epoch milliseconds) that holds {@code epochMillis}. */
    static long hourStart(long epochMillis) {
        return epochMillis - Math.floorMod(epochMillis, HOUR_MILLIS);
    }

    /** Inserts {@code checks} in their order; returns their ids, in the same order. */
    static List<Long> insertChecks(Connection connection, List<Check> checks) throws SQLException {
        List<Long> ids = new ArrayList<>();
        if (checks.isEmpty()) {
            return ids;
        }
        try (PreparedStatement insert = connection.prepareStatement("INSERT INTO checks (tunnel_id, service_id, status,"
                + " latency_ms, error, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id")) {
            for (Check check : checks) {
                insert.setString(1, check.subject().tunnelId());
                insert.setString(2, check.subject().serviceId());
                insert.setString(3, check.status().json());
                if (check.latencyMs() == null) {
                    insert.setNull(4, Types.INTEGER);
                } else {
                    insert.setLong(4, check.latencyMs());
                }
                insert.setString(5, check.error());
                insert.setLong(6, check.createdAt().toEpochMilli());
                try (ResultSet row = insert.executeQuery()) {
                    row.next();
                    ids.add(row.getLong(1));
                }
            }
        }
        return ids;
    }

    /** Inserts {@code changes}, each with the id of the same check among {@code checks} (null if not among them). */
    private static void insertChanges(Connection connection, List<Check> changes, List<Check> checks, List<Long> ids)
            throws SQLException {
        if (changes.isEmpty()) {
            return;
        }
        try (PreparedStatement insert = connection.prepareStatement("INSERT INTO state_changes (tunnel_id, service_id,"
                + " status, error, created_at, check_id) VALUES (?, ?, ?, ?, ?, ?)")) {
            for (Check change : changes) {
                insert.setString(1, change.subject().tunnelId());
                insert.setString(2, change.subject().serviceId());
                insert.setString(3, change.status().json());
                insert.setString(4, change.error());
                insert.setLong(5, change.createdAt().toEpochMilli());
                int check = checks.indexOf(change);
                if (check < 0) {
                    insert.setNull(6, Types.INTEGER);
                } else {
                    insert.setLong(6, ids.get(check));
                }
                insert.addBatch();
            }
            insert.executeBatch();
        }
    }

    /**
     * The newest {@code limit} checks of the subject, newest first: the last recorded, by id (AUTOINCREMENT, written in
     * the order they were made), not by created_at, the clock's time: a clock set back (NTP, a VM resumed) kept the
     * checks from before it as the newest, and with them the subject's state, until the clock caught up.
     */
    public List<Check> recent(Subject subject, int limit) {
        return database.read(connection -> {
            try (PreparedStatement select = connection.prepareStatement(RECENT)) {
                select.setString(1, subject.tunnelId());
                select.setString(2, subject.serviceId());
                select.setInt(3, limit);
                return checks(select);
            }
        });
    }

    /** What takes the checks of {@link #recentOfEachTunnel}, a batch at a time. */
    @FunctionalInterface
    public interface Batches<E extends Exception> {
        void accept(List<Check> batch) throws E;
    }

    /**
     * The newest {@code limit} own checks of each of {@code tunnelIds} (newest first per tunnel, the tunnels in their
     * order), handed to {@code batches} {@value #TUNNELS_PER_BATCH} tunnels at a time: one read each, and
     * {@code batches} is called outside it, so a slow taker (an answer written to a slow client) holds no read. At
     * most {@value #TUNNELS_PER_BATCH} × {@code limit} checks are in memory at once, however many tunnels there are.
     */
    public <E extends Exception> void recentOfEachTunnel(List<String> tunnelIds, int limit, Batches<E> batches)
            throws E {
        for (int from = 0; from < tunnelIds.size(); from += TUNNELS_PER_BATCH) {
            List<String> tunnels = tunnelIds.subList(from, Math.min(tunnelIds.size(), from + TUNNELS_PER_BATCH));
            List<Check> batch = database.read(connection -> {
                List<Check> checks = new ArrayList<>();
                try (PreparedStatement select = connection.prepareStatement(RECENT)) {
                    for (String tunnelId : tunnels) {
                        select.setString(1, tunnelId);
                        select.setString(2, null);
                        select.setInt(3, limit);
                        checks.addAll(checks(select));
                    }
                }
                return checks;
            });
            if (!batch.isEmpty()) {
                batches.accept(batch);
            }
        }
    }

    /** The subject's newest state change, the last recorded (as {@link #recent}): its current state and since when. */
    public Optional<Check> lastChange(Subject subject) {
        return database.read(connection -> {
            try (PreparedStatement select = connection.prepareStatement(LAST_CHANGE)) {
                select.setString(1, subject.tunnelId());
                select.setString(2, subject.serviceId());
                return checks(select).stream().findFirst();
            }
        });
    }

    /** A state change and how many checks were in that state until the next change (or until now). */
    public record Run(Check change, long checks) {
    }

    /**
     * The subject's last recorded state changes, the last first, with the number of checks of each: at most {@code limit},
     * and none older than the newest that held for {@code confirmedAfter} checks (the one a restart looks for).
     *
     * <p>A run's checks are those from its change's check to the next change's, by id. By created_at, a run recorded
     * after the clock was set back took in the checks of the runs before it, whose times are later (a down not yet
     * alerted counted the up checks before it and was taken as confirmed, so never alerted), and a run the clock was
     * set back during lost its later checks (a down already alerted was alerted again). A bound whose check id is not
     * stored (a change from before migration V45 whose check was pruned, or could not be told from another) is its
     * created_at, as before.
     */
    public List<Run> runs(Subject subject, int confirmedAfter, int limit) {
        return database.read(connection -> {
            List<Check> changes = new ArrayList<>();
            List<Long> checkIds = new ArrayList<>();
            try (PreparedStatement select = connection.prepareStatement("SELECT id, tunnel_id, service_id, status,"
                    + " NULL AS latency_ms, error, created_at, check_id FROM state_changes WHERE tunnel_id = ?"
                    + " AND service_id IS ? ORDER BY id DESC LIMIT ?")) {
                select.setString(1, subject.tunnelId());
                select.setString(2, subject.serviceId());
                select.setInt(3, limit);
                try (ResultSet rows = select.executeQuery()) {
                    while (rows.next()) {
                        changes.add(check(rows));
                        long checkId = rows.getLong("check_id");
                        checkIds.add(rows.wasNull() ? null : checkId);
                    }
                }
            }
            List<Run> runs = new ArrayList<>();
            String untilColumn = null;
            long until = 0;
            for (int i = 0; i < changes.size(); i++) {
                Check change = changes.get(i);
                Long checkId = checkIds.get(i);
                String fromColumn = checkId != null ? "id" : "created_at";
                long from = checkId != null ? checkId : change.createdAt().toEpochMilli();
                try (PreparedStatement count = connection.prepareStatement(countRun(fromColumn, untilColumn))) {
                    count.setString(1, subject.tunnelId());
                    count.setString(2, subject.serviceId());
                    count.setLong(3, from);
                    if (untilColumn != null) {
                        count.setLong(4, until);
                    }
                    try (ResultSet row = count.executeQuery()) {
                        row.next();
                        runs.add(new Run(change, row.getLong(1)));
                    }
                }
                if (runs.getLast().checks() >= confirmedAfter) {
                    break;
                }
                untilColumn = fromColumn;
                until = from;
            }
            return runs;
        });
    }

    /**
     * Counts a subject's checks (tunnel, service or null, then the bounds) from {@code fromColumn} >= ? and, unless
     * {@code untilColumn} is null, {@code untilColumn} < ?: each "id" (read through checks_subject) or "created_at".
     */
    static String countRun(String fromColumn, String untilColumn) {
        return "SELECT COUNT(*) FROM checks WHERE tunnel_id = ? AND service_id IS ? AND " + fromColumn + " >= ?"
                + (untilColumn == null ? "" : " AND " + untilColumn + " < ?");
    }

    /** Every state change of the subject since {@code from}, oldest first. */
    public List<Check> changes(Subject subject, Instant from) {
        return database.read(connection -> {
            try (PreparedStatement select = connection.prepareStatement("SELECT id, tunnel_id, service_id, status,"
                    + " NULL AS latency_ms, error, created_at FROM state_changes WHERE tunnel_id = ? AND service_id IS ?"
                    + " AND created_at >= ? ORDER BY created_at, id")) {
                select.setString(1, subject.tunnelId());
                select.setString(2, subject.serviceId());
                select.setLong(3, from.toEpochMilli());
                return checks(select);
            }
        });
    }

    /**
     * The subject's checks from {@code from} (inclusive) on: those of the partial hour [from, next whole hour)
     * counted one by one, the rest from the hourly roll-ups.
     */
    public Window window(Subject subject, Instant from) {
        long start = from.toEpochMilli();
        long firstWholeHour = hourStart(start) == start ? start : hourStart(start) + HOUR_MILLIS;
        return database.read(connection -> {
            Tally partial = Tally.NONE;
            if (start < firstWholeHour) {
                try (PreparedStatement select = connection.prepareStatement("SELECT " + TALLY_COLUMNS
                        + " FROM checks WHERE tunnel_id = ? AND service_id IS ? AND created_at >= ? AND created_at < ?")) {
                    select.setString(1, subject.tunnelId());
                    select.setString(2, subject.serviceId());
                    select.setLong(3, start);
                    select.setLong(4, firstWholeHour);
                    partial = tally(select);
                }
            }
            try (PreparedStatement select = connection.prepareStatement("SELECT COALESCE(SUM(total), 0) AS total,"
                    + " COALESCE(SUM(up), 0) AS up, COALESCE(SUM(latency_sum), 0) AS latency_sum,"
                    + " COALESCE(SUM(latency_count), 0) AS latency_count FROM check_hours"
                    + " WHERE tunnel_id = ? AND COALESCE(service_id, '') = ? AND hour_start >= ?")) {
                select.setString(1, subject.tunnelId());
                select.setString(2, subject.serviceId() == null ? "" : subject.serviceId());
                select.setLong(3, firstWholeHour);
                return partial.plus(tally(select)).window();
            }
        });
    }

    private static Tally tally(PreparedStatement select) throws SQLException {
        try (ResultSet row = select.executeQuery()) {
            row.next();
            return Tally.read(row);
        }
    }

    /**
     * Deletes the checks older than {@code before}; returns how many. The roll-ups of the hours wholly before
     * {@code before} go too, and that of the hour holding it is counted again from the checks left, so no window
     * counts a pruned check. State changes older than {@code before} go too, but for each subject's last recorded of
     * them, which says what state it was in at the cut and since when (a tunnel up for a year is "up since" a year ago).
     */
    public int prune(Instant before) {
        long cut = before.toEpochMilli();
        long cutHour = hourStart(cut);
        return database.inTransaction(connection -> {
            int pruned;
            try (PreparedStatement delete = connection.prepareStatement("DELETE FROM checks WHERE created_at < ?")) {
                delete.setLong(1, cut);
                pruned = delete.executeUpdate();
            }
            try (PreparedStatement delete = connection.prepareStatement("DELETE FROM check_hours WHERE hour_start <= ?")) {
                delete.setLong(1, cutHour);
                delete.executeUpdate();
            }
            try (PreparedStatement recount = connection.prepareStatement("INSERT INTO check_hours (tunnel_id, service_id,"
                    + " hour_start, total, up, latency_sum, latency_count) SELECT tunnel_id, service_id, ?, " + TALLY_COLUMNS
                    + " FROM checks WHERE created_at >= ? AND created_at < ? GROUP BY tunnel_id, service_id")) {
                recount.setLong(1, cutHour);
                recount.setLong(2, cutHour);
                recount.setLong(3, cutHour + HOUR_MILLIS);
                recount.executeUpdate();
            }
            try (PreparedStatement delete = connection.prepareStatement("DELETE FROM state_changes WHERE created_at < ?"
                    + " AND EXISTS (SELECT 1 FROM state_changes newer WHERE newer.tunnel_id = state_changes.tunnel_id"
                    + " AND newer.service_id IS state_changes.service_id AND newer.created_at < ?"
                    + " AND newer.id > state_changes.id)")) {
                delete.setLong(1, cut);
                delete.setLong(2, cut);
                delete.executeUpdate();
            }
            return pruned;
        });
    }

    /** The latest created_at of the checks stored, if any. */
    public Optional<Instant> newestTime() {
        return database.read(connection -> {
            try (PreparedStatement select = connection.prepareStatement("SELECT MAX(created_at) FROM checks");
                 ResultSet row = select.executeQuery()) {
                row.next();
                long newest = row.getLong(1);
                return row.wasNull() ? Optional.<Instant>empty() : Optional.of(Instant.ofEpochMilli(newest));
            }
        });
    }

    public ServiceCheckSettings settings(String serviceId) {
        return database.read(connection -> {
            try (PreparedStatement select = connection.prepareStatement(
                    "SELECT enabled, health_path FROM service_checks WHERE service_id = ?")) {
                select.setString(1, serviceId);
                try (ResultSet row = select.executeQuery()) {
                    return row.next() ? new ServiceCheckSettings(row.getInt("enabled") != 0, row.getString("health_path"))
                            : ServiceCheckSettings.DEFAULT;
                }
            }
        });
    }

    /**
     * The stored settings of the services {@code serviceIds}, by service id; a service without a row (the defaults) is
     * left out. One query per {@value #SETTINGS_BATCH} services, however many there are.
     */
    public Map<String, ServiceCheckSettings> settings(List<String> serviceIds) {
        return database.read(connection -> {
            Map<String, ServiceCheckSettings> settings = new HashMap<>();
            for (int from = 0; from < serviceIds.size(); from += SETTINGS_BATCH) {
                List<String> batch = serviceIds.subList(from, Math.min(serviceIds.size(), from + SETTINGS_BATCH));
                try (PreparedStatement select = connection.prepareStatement("SELECT service_id, enabled, health_path"
                        + " FROM service_checks WHERE service_id IN (" + "?,".repeat(batch.size() - 1) + "?)")) {
                    for (int i = 0; i < batch.size(); i++) {
                        select.setString(i + 1, batch.get(i));
                    }
                    try (ResultSet rows = select.executeQuery()) {
                        while (rows.next()) {
                            settings.put(rows.getString("service_id"),
                                    new ServiceCheckSettings(rows.getInt("enabled") != 0, rows.getString("health_path")));
                        }
                    }
                }
            }
            return settings;
        });
    }

    public void saveSettings(String serviceId, ServiceCheckSettings settings) {
        database.inTransaction(connection -> {
            try (PreparedStatement upsert = connection.prepareStatement("INSERT INTO service_checks (service_id, enabled,"
                    + " health_path) VALUES (?, ?, ?) ON CONFLICT (service_id) DO UPDATE SET enabled = excluded.enabled,"
                    + " health_path = excluded.health_path")) {
                upsert.setString(1, serviceId);
                upsert.setInt(2, settings.enabled() ? 1 : 0);
                upsert.setString(3, settings.healthPath());
                upsert.executeUpdate();
            }
            return null;
        });
    }

    private static List<Check> checks(PreparedStatement select) throws SQLException {
        List<Check> checks = new ArrayList<>();
        try (ResultSet rows = select.executeQuery()) {
            while (rows.next()) {
                checks.add(check(rows));
            }
        }
        return checks;
    }

    private static Check check(ResultSet row) throws SQLException {
        long latency = row.getLong("latency_ms");
        Long latencyMs = row.wasNull() ? null : latency;
        return new Check(row.getLong("id"), new Subject(row.getString("tunnel_id"), row.getString("service_id")),
                CheckStatus.parse(row.getString("status")), latencyMs, row.getString("error"),
                Instant.ofEpochMilli(row.getLong("created_at")));
    }
}
