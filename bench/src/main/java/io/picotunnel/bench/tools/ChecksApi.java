package io.picotunnel.bench.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * The monitoring API on a year of checks (issue 9): {@link #seed} writes one-a-minute checks of a tunnel and its
 * services straight into a stopped server's SQLite file (the schema its migrations made; with the hourly roll-ups
 * when the schema has them), {@link #time} then calls {@code GET /api/tunnels/:id/checks} and {@code /stats} of the
 * restarted server and gives each call's p50 and p99.
 */
final class ChecksApi {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int BATCH = 10_000;

    /** How many rows {@link #seed} wrote. */
    record Seeded(long checks, long stateChanges) {
    }

    private ChecksApi() {
    }

    /**
     * One check a minute (every {@code intervalSeconds}) for {@code days} up to {@code nowMillis}, of the tunnel and
     * of each service, in one transaction. Outages start at random (about one every 2 days for the tunnel, every
     * 4 days for a service) and last 1 to 60 checks; each change of state is stored in {@code state_changes} as the
     * monitor does. The newest check of each subject is up. Seeded, so every run writes the same rows.
     */
    static Seeded seed(Path database, String tunnelId, List<String> serviceIds, int days, int intervalSeconds,
                       long nowMillis) throws SQLException {
        long step = intervalSeconds * 1000L;
        long count = days * 86_400L / intervalSeconds;
        long first = nowMillis - (count - 1) * step;
        Random random = new Random(9);
        long checks = 0;
        long changes = 0;
        try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + database.toAbsolutePath())) {
            try (Statement pragma = connection.createStatement()) {
                pragma.execute("PRAGMA foreign_keys = ON");
            }
            connection.setAutoCommit(false);
            try (PreparedStatement check = connection.prepareStatement("INSERT INTO checks (tunnel_id, service_id,"
                    + " status, latency_ms, error, created_at) VALUES (?, ?, ?, ?, ?, ?)");
                 PreparedStatement change = connection.prepareStatement("INSERT INTO state_changes (tunnel_id,"
                         + " service_id, status, error, created_at) VALUES (?, ?, ?, ?, ?)")) {
                List<String> subjects = new ArrayList<>();
                subjects.add(null);
                subjects.addAll(serviceIds);
                for (String service : subjects) {
                    double outageChance = (service == null ? 0.5 : 0.25) * intervalSeconds / 86_400.0;
                    String error = service == null ? "the tunnel's client is not connected"
                            : "connection refused by the target";
                    String last = null;
                    long downLeft = 0;
                    int pending = 0;
                    for (long i = 0; i < count; i++) {
                        long at = first + i * step;
                        if (downLeft == 0 && i < count - 1 && random.nextDouble() < outageChance) {
                            downLeft = 1 + random.nextInt(60);
                        }
                        boolean up = downLeft == 0 || i == count - 1;
                        if (!up) {
                            downLeft--;
                        }
                        String status = up ? "up" : "down";
                        check.setString(1, tunnelId);
                        check.setString(2, service);
                        check.setString(3, status);
                        if (up) {
                            check.setLong(4, 1 + random.nextInt(service == null ? 8 : 25));
                            check.setNull(5, Types.VARCHAR);
                        } else {
                            check.setNull(4, Types.INTEGER);
                            check.setString(5, error);
                        }
                        check.setLong(6, at);
                        check.addBatch();
                        checks++;
                        if (!status.equals(last)) {
                            change.setString(1, tunnelId);
                            change.setString(2, service);
                            change.setString(3, status);
                            change.setString(4, up ? null : error);
                            change.setLong(5, at);
                            change.addBatch();
                            changes++;
                            last = status;
                        }
                        if (++pending == BATCH) {
                            check.executeBatch();
                            change.executeBatch();
                            pending = 0;
                        }
                    }
                    check.executeBatch();
                    change.executeBatch();
                }
            }
            rollUp(connection, tunnelId);
            connection.commit();
            try (Statement analyze = connection.createStatement()) {
                analyze.execute("ANALYZE"); // what a long-running database has had: SQLite's optimize runs it
            }
        }
        return new Seeded(checks, changes);
    }

    /**
     * The hourly roll-ups the server keeps with its checks (table {@code check_hours}, schema V41): written here
     * anew for the tunnel from all its checks (as the V41 migration back-fills them), since the seed bypasses the
     * server. A schema from before V41 has no such table and needs none.
     */
    private static void rollUp(Connection connection, String tunnelId) throws SQLException {
        try (Statement statement = connection.createStatement();
             ResultSet table = statement.executeQuery("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'check_hours'")) {
            if (!table.next()) {
                return;
            }
        }
        try (PreparedStatement delete = connection.prepareStatement("DELETE FROM check_hours WHERE tunnel_id = ?")) {
            delete.setString(1, tunnelId);
            delete.executeUpdate();
        }
        try (PreparedStatement insert = connection.prepareStatement("INSERT INTO check_hours (tunnel_id, service_id,"
                + " hour_start, total, up, latency_sum, latency_count) SELECT tunnel_id, service_id,"
                + " created_at - created_at % 3600000 AS hour, COUNT(*), SUM(status = 'up'),"
                + " COALESCE(SUM(CASE WHEN status = 'up' THEN latency_ms END), 0),"
                + " COUNT(CASE WHEN status = 'up' THEN latency_ms END) FROM checks WHERE tunnel_id = ?"
                + " GROUP BY tunnel_id, service_id, hour")) {
            insert.setString(1, tunnelId);
            insert.executeUpdate();
        }
    }

    /** Latencies of one endpoint, in ms, sorted. */
    record Timings(String path, double[] ms) {
        double percentile(double p) {
            int index = (int) Math.ceil(p / 100 * ms.length) - 1;
            return ms[Math.max(0, Math.min(ms.length - 1, index))];
        }
    }

    /**
     * {@code warmup} untimed then {@code calls} timed calls of {@code path} (one at a time, one keep-alive
     * connection), each answer checked: 200 and, for a list, {@code expected} elements (or the stats object).
     * Stops with an IOException when a call fails or the whole takes longer than {@code limit}.
     */
    static Timings time(HttpClient client, String base, String authorization, String path, int expected, int warmup,
                        int calls, Duration limit) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create(base + path)).header("Authorization", authorization)
                .timeout(Duration.ofSeconds(30)).GET().build();
        long deadline = System.nanoTime() + limit.toNanos();
        double[] ms = new double[calls];
        for (int i = 0; i < warmup + calls; i++) {
            if (System.nanoTime() > deadline) {
                throw new IOException(path + ": " + i + " calls were not done within " + limit.toSeconds() + " s");
            }
            long start = System.nanoTime();
            HttpResponse<byte[]> response = client.send(request, HttpResponse.BodyHandlers.ofByteArray());
            long took = System.nanoTime() - start;
            if (response.statusCode() != 200) {
                throw new IOException(path + ": HTTP " + response.statusCode() + " " + new String(response.body()));
            }
            if (i == 0) {
                JsonNode body = JSON.readTree(response.body());
                boolean right = expected > 0 ? body.isArray() && body.size() == expected
                        : body.isObject() && body.path("uptime_30d").isNumber();
                if (!right) {
                    throw new IOException(path + ": unexpected answer " + abbreviated(body.toString()));
                }
            }
            if (i >= warmup) {
                ms[i - warmup] = took / 1e6;
            }
        }
        Arrays.sort(ms);
        return new Timings(path, ms);
    }

    private static String abbreviated(String s) {
        return s.length() > 300 ? s.substring(0, 300) + "..." : s;
    }
}
