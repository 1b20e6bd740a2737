package io.picotunnel.server.monitor;

import io.picotunnel.server.store.Database;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Checks, state changes and per-service probe settings in SQLite (tables {@code checks}, {@code state_changes},
 * {@code service_checks}). Times are stored as epoch milliseconds; the index on (tunnel, service, time) serves
 * both the newest checks of a subject and the uptime windows.
 */
public final class CheckStore {

    private static final String SELECT_CHECK = "SELECT id, tunnel_id, service_id, status, latency_ms, error, created_at FROM checks";

    /** Checks in a time window: how many, how many up, the mean latency of the up ones (null when none). */
    public record Window(long total, long up, Double meanLatencyMs) {
    }

    private final Database database;

    public CheckStore(Database database) {
        this.database = database;
    }

    /** Stores {@code checks} and {@code changes} (state changes, as the checks that made them) in one transaction. */
    public void record(List<Check> checks, List<Check> changes) {
        database.inTransaction(connection -> {
            insert(connection, "checks", checks);
            insert(connection, "state_changes", changes);
            return null;
        });
    }

    private static void insert(Connection connection, String table, List<Check> checks) throws SQLException {
        if (checks.isEmpty()) {
            return;
        }
        String sql = table.equals("checks")
                ? "INSERT INTO checks (tunnel_id, service_id, status, latency_ms, error, created_at) VALUES (?, ?, ?, ?, ?, ?)"
                : "INSERT INTO state_changes (tunnel_id, service_id, status, error, created_at) VALUES (?, ?, ?, ?, ?)";
        try (PreparedStatement insert = connection.prepareStatement(sql)) {
            for (Check check : checks) {
                int i = 1;
                insert.setString(i++, check.subject().tunnelId());
                insert.setString(i++, check.subject().serviceId());
                insert.setString(i++, check.status().json());
                if (table.equals("checks")) {
                    if (check.latencyMs() == null) {
                        insert.setNull(i++, Types.INTEGER);
                    } else {
                        insert.setLong(i++, check.latencyMs());
                    }
                }
                insert.setString(i++, check.error());
                insert.setLong(i, check.createdAt().toEpochMilli());
                insert.addBatch();
            }
            insert.executeBatch();
        }
    }

    /** The newest {@code limit} checks of the subject, newest first. */
    public List<Check> recent(Subject subject, int limit) {
        return database.read(connection -> {
            try (PreparedStatement select = connection.prepareStatement(SELECT_CHECK
                    + " WHERE tunnel_id = ? AND service_id IS ? ORDER BY created_at DESC, id DESC LIMIT ?")) {
                select.setString(1, subject.tunnelId());
                select.setString(2, subject.serviceId());
                select.setInt(3, limit);
                return checks(select);
            }
        });
    }

    /** The subject's newest state change: its current state and since when. */
    public Optional<Check> lastChange(Subject subject) {
        return database.read(connection -> {
            try (PreparedStatement select = connection.prepareStatement("SELECT 0 AS id, tunnel_id, service_id, status,"
                    + " NULL AS latency_ms, error, created_at FROM state_changes WHERE tunnel_id = ? AND service_id IS ?"
                    + " ORDER BY created_at DESC, id DESC LIMIT 1")) {
                select.setString(1, subject.tunnelId());
                select.setString(2, subject.serviceId());
                return checks(select).stream().findFirst();
            }
        });
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

    /** The subject's checks from {@code from} (inclusive) on. */
    public Window window(Subject subject, Instant from) {
        return database.read(connection -> {
            try (PreparedStatement select = connection.prepareStatement("SELECT COUNT(*) AS total,"
                    + " COALESCE(SUM(status = 'up'), 0) AS up, AVG(CASE WHEN status = 'up' THEN latency_ms END) AS latency"
                    + " FROM checks WHERE tunnel_id = ? AND service_id IS ? AND created_at >= ?")) {
                select.setString(1, subject.tunnelId());
                select.setString(2, subject.serviceId());
                select.setLong(3, from.toEpochMilli());
                try (ResultSet row = select.executeQuery()) {
                    row.next();
                    double latency = row.getDouble("latency");
                    Double meanLatency = row.wasNull() ? null : latency;
                    return new Window(row.getLong("total"), row.getLong("up"), meanLatency);
                }
            }
        });
    }

    /** Deletes the checks older than {@code before}; returns how many. State changes are kept. */
    public int prune(Instant before) {
        return database.inTransaction(connection -> {
            try (PreparedStatement delete = connection.prepareStatement("DELETE FROM checks WHERE created_at < ?")) {
                delete.setLong(1, before.toEpochMilli());
                return delete.executeUpdate();
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
                long latency = rows.getLong("latency_ms");
                Long latencyMs = rows.wasNull() ? null : latency;
                checks.add(new Check(rows.getLong("id"), new Subject(rows.getString("tunnel_id"), rows.getString("service_id")),
                        CheckStatus.parse(rows.getString("status")), latencyMs, rows.getString("error"),
                        Instant.ofEpochMilli(rows.getLong("created_at"))));
            }
        }
        return checks;
    }
}
