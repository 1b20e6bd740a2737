package io.picotunnel.server.monitor;

import io.picotunnel.server.store.Database;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.Store;
import io.picotunnel.server.store.TlsMode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The hourly roll-ups ({@code check_hours}) behind the uptime windows: every window equals the same sums over the raw
 * checks (the query the windows used before the roll-ups), on seeded histories, after the V41 back-fill, after
 * pruning, and the roll-ups go with their tunnel or service.
 */
class CheckHoursTest {

    private static final long HOUR = Duration.ofHours(1).toMillis();
    /** An hour boundary; the histories run from here for three days. */
    private static final Instant START = Instant.parse("2026-11-01T00:00:00Z");
    private static final Instant END = START.plus(Duration.ofDays(3));

    @TempDir
    Path dataDir;

    private Store store;
    private CheckStore checks;
    private Subject tunnel;
    private Subject mixedService;
    private Subject downService;
    private Subject silentService;
    private Subject otherTunnel;

    @BeforeEach
    void open() throws Exception {
        openStore();
        String a = store.createTunnel("a").id();
        String b = store.createTunnel("b").id();
        tunnel = Subject.tunnel(a);
        mixedService = new Subject(a, tcpService(a, 15001));
        downService = new Subject(a, tcpService(a, 15002));
        silentService = new Subject(a, tcpService(a, 15003));
        otherTunnel = Subject.tunnel(b);
    }

    private void openStore() {
        store = Store.open(dataDir);
        checks = new CheckStore(store.database());
    }

    private String tcpService(String tunnelId, int port) throws Exception {
        return store.createService(new Service(null, tunnelId, ServiceType.TCP, null, "/", TlsMode.TERMINATE,
                "127.0.0.1:" + port, "localhost:22", true, null)).orElseThrow().id();
    }

    @AfterEach
    void close() {
        store.close();
    }

    @Test
    void windowsFromRollUpsEqualTheSumsOverTheRawChecks() {
        List<Check> history = history(new Random(41));
        recordInBatches(history, new Random(7));

        assertRollUpsEqualTheChecks();
        List<Instant> froms = froms(history, new Random(3));
        int partialHourChecks = 0;
        for (Subject subject : subjects()) {
            for (Instant from : froms) {
                assertThat(checks.window(subject, from)).as("%s from %s", subject, from).isEqualTo(bruteForce(subject, from));
                Instant nextHour = Instant.ofEpochMilli(CheckStore.hourStart(from.toEpochMilli() + HOUR - 1));
                partialHourChecks += (int) (bruteForce(subject, from).total() - bruteForce(subject, nextHour).total());
            }
        }
        assertThat(partialHourChecks).as("the partial hours at the windows' starts hold checks").isPositive();
        CheckStore.Window whole = checks.window(tunnel, START);
        assertThat(whole.total()).isGreaterThan(whole.up()).isGreaterThan(100);
        assertThat(whole.meanLatencyMs()).isNotNull();
        assertThat(checks.window(downService, START)).isEqualTo(new CheckStore.Window(bruteForce(downService, START).total(), 0, null));
        assertThat(checks.window(silentService, START)).isEqualTo(new CheckStore.Window(0, 0, null));
    }

    @Test
    void checksStoredBeforeTheRollUpsExistedAreBackFilledByTheMigration() {
        store.database().inTransaction(connection -> {
            try (Statement statement = connection.createStatement()) {
                statement.executeUpdate("DROP TABLE check_hours");
                statement.executeUpdate("DELETE FROM schema_version WHERE version = 41");
            }
            return null;
        });
        List<Check> history = history(new Random(40));
        insertWithoutRollUps(store.database(), history);
        store.close();

        openStore();

        assertRollUpsEqualTheChecks();
        for (Subject subject : subjects()) {
            for (Instant from : froms(history, new Random(5))) {
                assertThat(checks.window(subject, from)).as("%s from %s", subject, from).isEqualTo(bruteForce(subject, from));
            }
        }
        assertThat(checks.window(tunnel, START).total()).isEqualTo(history.stream().filter(c -> c.subject().equals(tunnel)).count());
    }

    @Test
    void afterPruningWindowsCountOnlyTheChecksLeftEvenWhenTheyReachPastTheRetention() {
        List<Check> history = history(new Random(42));
        recordInBatches(history, new Random(8));
        Instant before = START.plus(Duration.ofHours(30)).plusMillis(1_234_567);
        CheckStore.Window unpruned = checks.window(tunnel, START);

        int pruned = checks.prune(before);

        assertThat(pruned).isEqualTo(history.stream().filter(check -> check.createdAt().isBefore(before)).count());
        assertRollUpsEqualTheChecks();
        List<Instant> froms = new ArrayList<>(froms(history, new Random(6)));
        froms.addAll(List.of(before, before.minusMillis(1), before.plusMillis(1),
                Instant.ofEpochMilli(CheckStore.hourStart(before.toEpochMilli()))));
        for (Subject subject : subjects()) {
            for (Instant from : froms) {
                assertThat(checks.window(subject, from)).as("%s from %s", subject, from).isEqualTo(bruteForce(subject, from));
            }
        }
        assertThat(checks.window(tunnel, START).total()).isLessThan(unpruned.total())
                .isEqualTo(history.stream().filter(c -> c.subject().equals(tunnel) && !c.createdAt().isBefore(before)).count());

        Instant onTheHour = START.plus(Duration.ofHours(50));
        checks.prune(onTheHour);
        assertRollUpsEqualTheChecks();
        assertThat(checks.window(mixedService, START)).isEqualTo(bruteForce(mixedService, START));
        assertThat(checks.window(mixedService, onTheHour)).isEqualTo(bruteForce(mixedService, START));
    }

    @Test
    void deletingAServiceOrATunnelDeletesItsRollUps() throws Exception {
        recordInBatches(history(new Random(43)), new Random(9));
        assertThat(rollUpRows(mixedService)).isPositive();
        assertThat(rollUpRows(otherTunnel)).isPositive();

        store.deleteService(mixedService.serviceId());

        assertThat(rollUpRows(mixedService)).isZero();
        assertThat(rollUpRows(tunnel)).isPositive();
        assertThat(rollUpRows(downService)).isPositive();

        store.deleteTunnel(tunnel.tunnelId());

        assertThat(rollUpRows(tunnel)).isZero();
        assertThat(rollUpRows(downService)).isZero();
        assertThat(rollUpRows(otherTunnel)).isPositive();
        assertRollUpsEqualTheChecks();
    }

    private List<Subject> subjects() {
        return List.of(tunnel, mixedService, downService, silentService, otherTunnel);
    }

    /**
     * Three days of checks: every one to five minutes with hours-long gaps, mostly up for the tunnels, some up
     * checks of the mixed service without a latency, the down service always down, the silent one never checked;
     * plus checks exactly on hour boundaries.
     */
    private List<Check> history(Random random) {
        List<Check> history = new ArrayList<>();
        for (Subject subject : List.of(tunnel, mixedService, downService, otherTunnel)) {
            Instant at = START.plusMillis(random.nextInt(60_000));
            while (at.isBefore(END)) {
                if (random.nextInt(100) == 0) {
                    at = at.plus(Duration.ofMinutes(60 + random.nextInt(300)));
                    continue;
                }
                history.add(check(subject, at, random));
                at = at.plusMillis(60_000L + random.nextInt(240_000));
            }
            for (int hour = 1; hour < 72; hour += 7) {
                history.add(check(subject, START.plus(Duration.ofHours(hour)), random));
            }
        }
        return history;
    }

    private Check check(Subject subject, Instant at, Random random) {
        boolean up = !subject.equals(downService) && random.nextInt(subject.equals(mixedService) ? 2 : 10) != 0;
        if (!up) {
            return Check.down(subject, "connection refused", at);
        }
        Long latency = subject.equals(mixedService) && random.nextInt(4) == 0 ? null : (long) random.nextInt(500);
        return new Check(0, subject, CheckStatus.UP, latency, null, at);
    }

    /** Window starts: on, just before and after hour boundaries, at checks, at random, before and after all data. */
    private static List<Instant> froms(List<Check> history, Random random) {
        List<Instant> froms = new ArrayList<>(List.of(START.minus(Duration.ofDays(30)), START, START.plusMillis(1),
                START.plus(Duration.ofHours(1)), START.plus(Duration.ofHours(1)).minusMillis(1),
                START.plus(Duration.ofHours(8)), END, END.plus(Duration.ofHours(2))));
        for (int i = 0; i < 12; i++) {
            froms.add(history.get(random.nextInt(history.size())).createdAt());
            froms.add(START.plusMillis((long) (random.nextDouble() * Duration.ofDays(3).toMillis())));
        }
        return froms;
    }

    /** As the monitor records: a few checks per transaction, in time order. */
    private void recordInBatches(List<Check> history, Random random) {
        List<Check> sorted = history.stream().sorted((x, y) -> x.createdAt().compareTo(y.createdAt())).toList();
        for (int i = 0; i < sorted.size(); ) {
            int n = Math.min(sorted.size() - i, 1 + random.nextInt(20));
            checks.record(sorted.subList(i, i + n), List.of());
            i += n;
        }
    }

    /** The rows a server before V41 wrote: checks only. */
    private static void insertWithoutRollUps(Database database, List<Check> history) {
        database.inTransaction(connection -> CheckStore.insertChecks(connection, history));
    }

    /** The window as it was computed before the roll-ups: one query over the raw checks. */
    private CheckStore.Window bruteForce(Subject subject, Instant from) {
        return store.database().read(connection -> {
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
                    return new CheckStore.Window(row.getLong("total"), row.getLong("up"), meanLatency);
                }
            }
        });
    }

    /** Each roll-up row holds exactly the sums of its hour's checks, and every hour with checks has its row. */
    private void assertRollUpsEqualTheChecks() {
        String hours = "SELECT tunnel_id, COALESCE(service_id, '-'), hour_start, total, up, latency_sum, latency_count"
                + " FROM check_hours ORDER BY 1, 2, 3";
        String fromChecks = "SELECT tunnel_id, COALESCE(service_id, '-'), created_at - created_at % 3600000 AS hour,"
                + " COUNT(*), SUM(status = 'up'), COALESCE(SUM(CASE WHEN status = 'up' THEN latency_ms END), 0),"
                + " COUNT(CASE WHEN status = 'up' THEN latency_ms END) FROM checks GROUP BY 1, 2, 3 ORDER BY 1, 2, 3";
        List<String> rollUps = rows(hours);
        assertThat(rollUps).isNotEmpty().isEqualTo(rows(fromChecks));
    }

    private List<String> rows(String sql) {
        return store.database().read(connection -> {
            List<String> rows = new ArrayList<>();
            try (Statement statement = connection.createStatement(); ResultSet result = statement.executeQuery(sql)) {
                while (result.next()) {
                    List<String> columns = new ArrayList<>();
                    for (int i = 1; i <= 7; i++) {
                        columns.add(result.getString(i));
                    }
                    rows.add(String.join("|", columns));
                }
            }
            return rows;
        });
    }

    private long rollUpRows(Subject subject) {
        return store.database().read(connection -> {
            try (PreparedStatement select = connection.prepareStatement(
                    "SELECT COUNT(*) FROM check_hours WHERE tunnel_id = ? AND service_id IS ?")) {
                select.setString(1, subject.tunnelId());
                select.setString(2, subject.serviceId());
                try (ResultSet row = select.executeQuery()) {
                    row.next();
                    return row.getLong(1);
                }
            }
        });
    }
}
