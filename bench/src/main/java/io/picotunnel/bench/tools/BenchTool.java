package io.picotunnel.bench.tools;

import java.io.IOException;
import java.io.Reader;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * The helpers bench/run.sh runs next to PicoTunnel's executables and the external tools. Each prints its results
 * as {@code name=value} lines on standard output (the names the {@link GoalTable} reads), progress on standard
 * error; exit code 2 for bad arguments, 1 for a failed measurement.
 *
 * <pre>
 * relay --route LISTEN_PORT=HOST:PORT ... [--delay-ms 25] [--rate-mbit 1000] [--buffer-mib 16] [--max-seconds 900]
 * idle  --holder-port PORT --service HOST:PORT --count N [--warmup N] --pid NAME=PID ... [--timeout-s 60] [--gc true]
 * rtt   --echo-port PORT --path NAME=PORT ... [--bytes 64] [--samples N] [--warmup N] [--limit-s 20]
 * checks-seed --db FILE --tunnel ID [--service ID ...] [--days 365] [--interval-s 60]
 * checks-api  --api PORT --tunnel ID --auth-header FILE [--calls 200] [--warmup 50] [--limit-s 120]
 * table --results FILE
 * </pre>
 */
public final class BenchTool {

    private BenchTool() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            usage("no command");
        }
        Map<String, List<String>> options;
        try {
            options = options(List.of(args).subList(1, args.length));
        } catch (IllegalArgumentException e) {
            usage(e.getMessage());
            return;
        }
        try {
            switch (args[0]) {
                case "relay" -> relay(options);
                case "idle" -> idle(options);
                case "rtt" -> rtt(options);
                case "checks-seed" -> checksSeed(options);
                case "checks-api" -> checksApi(options);
                case "table" -> table(options);
                default -> usage("unknown command " + args[0]);
            }
        } catch (IllegalArgumentException e) {
            usage(e.getMessage());
        } catch (IOException e) {
            System.err.println(args[0] + ": " + e.getMessage());
            System.exit(1);
        }
    }

    /** Relays until killed, or until --max-seconds have passed. */
    private static void relay(Map<String, List<String>> o) throws Exception {
        Duration delay = Duration.ofMillis(number(o, "delay-ms", 25));
        long bits = number(o, "rate-mbit", 1000) * 1_000_000L;
        int buffer = Math.toIntExact(number(o, "buffer-mib", 16) * 1024 * 1024);
        List<DelayRelay> relays = new ArrayList<>();
        for (String[] route : pairs(o, "route", "LISTEN_PORT=HOST:PORT")) {
            relays.add(DelayRelay.start(new InetSocketAddress("127.0.0.1", Integer.parseInt(route[0])),
                    address(route[1]), delay, bits, buffer));
        }
        System.out.println("relay ready: " + relays.size() + " route(s), " + delay.toMillis() + " ms each way, "
                + bits / 1_000_000 + " Mbit/s");
        System.out.flush();
        Thread.sleep(TimeUnit.SECONDS.toMillis(number(o, "max-seconds", 900)));
        relays.forEach(DelayRelay::close);
    }

    private static void idle(Map<String, List<String>> o) throws IOException {
        int count = Math.toIntExact(number(o, "count", 5000));
        int warmup = Math.toIntExact(number(o, "warmup", Math.min(500, Math.max(1, count / 10))));
        Map<String, Long> pids = new LinkedHashMap<>();
        for (String[] pid : pairs(o, "pid", "NAME=PID")) {
            pids.put(pid[0], Long.parseLong(pid[1]));
        }
        List<Long> watched = List.copyOf(pids.values());
        Duration settle = Duration.ofSeconds(5);
        boolean gc = Boolean.parseBoolean(o.getOrDefault("gc", List.of("true")).getLast());
        try (IdleConnections idle = new IdleConnections(Math.toIntExact(number(o, "holder-port", -1)),
                address(single(o, "service")), Duration.ofSeconds(number(o, "timeout-s", 60)))) {
            idle.open(warmup);
            Map<Long, Long> before = measure(watched, settle, gc);
            System.err.println("idle: " + warmup + " warm-up connections open; RSS KiB " + named(pids, before)
                    + (gc ? " after a full GC" : ""));
            long start = System.nanoTime();
            idle.open(count);
            double took = (System.nanoTime() - start) / 1e9;
            if (gc) {
                System.err.println("idle: " + count + " more connections open; RSS KiB before a full GC "
                        + named(pids, IdleConnections.settledRssKiB(watched, settle)));
            }
            Map<Long, Long> after = measure(watched, settle, gc);
            System.err.printf(Locale.ROOT, "idle: %d more connections open in %.1f s; RSS KiB %s%s%n", count, took,
                    named(pids, after), gc ? " after a full GC" : "");
            System.out.println("idle_connections=" + count);
            for (Map.Entry<String, Long> p : pids.entrySet()) {
                double perConnection = (after.get(p.getValue()) - before.get(p.getValue())) / (double) count;
                System.out.printf(Locale.ROOT, "idle_%s_kib=%.2f%n", p.getKey(), perConnection);
            }
        }
    }

    private static Map<Long, Long> measure(List<Long> pids, Duration settle, boolean gc) throws IOException {
        if (gc) {
            IdleConnections.collectGarbage(pids);
        }
        return IdleConnections.settledRssKiB(pids, settle);
    }

    private static Map<String, Long> named(Map<String, Long> pids, Map<Long, Long> rss) {
        Map<String, Long> named = new LinkedHashMap<>();
        pids.forEach((name, pid) -> named.put(name, rss.get(pid)));
        return named;
    }

    /**
     * Round trips through each {@code --path}, the paths taking turns {@code --rounds} times, each run on a new
     * connection; prints each path's p50 and p99 as the median of its runs and each run's own, so that a machine that
     * slows down for a while slows every path of the round alike (as bench/run.sh does for iperf3 and wrk).
     */
    private static void rtt(Map<String, List<String>> o) throws IOException {
        int bytes = Math.toIntExact(number(o, "bytes", 64));
        int samples = Math.toIntExact(number(o, "samples", 20_000));
        int warmup = Math.toIntExact(number(o, "warmup", 2_000));
        int rounds = Math.toIntExact(number(o, "rounds", 1));
        if (rounds < 1) {
            throw new IllegalArgumentException("--rounds must be at least 1");
        }
        Duration limit = Duration.ofSeconds(number(o, "limit-s", 20));
        Map<String, Integer> ports = new LinkedHashMap<>();
        for (String[] path : pairs(o, "path", "NAME=PORT")) {
            ports.put(path[0], Integer.parseInt(path[1]));
        }
        Map<String, List<Double>> p50s = new LinkedHashMap<>();
        Map<String, List<Double>> p99s = new LinkedHashMap<>();
        try (RoundTrip.Echo echo = new RoundTrip.Echo(Math.toIntExact(number(o, "echo-port", -1)))) {
            System.err.printf(Locale.ROOT, "rtt: echo target on port %d%n", echo.port());
            for (int round = 1; round <= rounds; round++) {
                for (Map.Entry<String, Integer> path : ports.entrySet()) {
                    RoundTrip.Samples s = RoundTrip.measure(new InetSocketAddress("127.0.0.1", path.getValue()), bytes,
                            warmup, samples, limit);
                    System.err.printf(Locale.ROOT, "rtt %s, run %d: %d samples, p50 %.1f us, p99 %.1f us%n",
                            path.getKey(), round, s.count(), s.percentile(50), s.percentile(99));
                    p50s.computeIfAbsent(path.getKey(), k -> new ArrayList<>()).add(s.percentile(50));
                    p99s.computeIfAbsent(path.getKey(), k -> new ArrayList<>()).add(s.percentile(99));
                }
            }
        }
        for (String path : ports.keySet()) {
            printRuns("rtt_" + path + "_p50_us", p50s.get(path));
            printRuns("rtt_" + path + "_p99_us", p99s.get(path));
        }
    }

    /** NAME=the median of the runs, then NAME@1, NAME@2, ... each run (the table pairs ratios by round). */
    private static void printRuns(String name, List<Double> runs) {
        System.out.printf(Locale.ROOT, "%s=%.2f%n", name, Median.of(runs));
        for (int i = 0; i < runs.size(); i++) {
            System.out.printf(Locale.ROOT, "%s@%d=%.2f%n", name, i + 1, runs.get(i));
        }
    }

    /** Writes a year of checks into a stopped server's database; prints how many rows. */
    private static void checksSeed(Map<String, List<String>> o) throws IOException {
        int days = Math.toIntExact(number(o, "days", 365));
        int interval = Math.toIntExact(number(o, "interval-s", 60));
        if (days < 1 || interval < 1) {
            throw new IllegalArgumentException("--days and --interval-s must be at least 1");
        }
        long start = System.nanoTime();
        ChecksApi.Seeded seeded;
        try {
            seeded = ChecksApi.seed(Path.of(single(o, "db")), single(o, "tunnel"), o.getOrDefault("service", List.of()),
                    days, interval, System.currentTimeMillis());
        } catch (SQLException e) {
            throw new IOException("writing the checks: " + e.getMessage(), e);
        }
        System.err.printf(Locale.ROOT, "checks-seed: %d checks and %d state changes written in %.1f s%n",
                seeded.checks(), seeded.stateChanges(), (System.nanoTime() - start) / 1e9);
        System.out.println("checks_seeded=" + seeded.checks());
        System.out.println("checks_state_changes=" + seeded.stateChanges());
    }

    /** Times the checks and stats endpoints of a running server; prints p50 and p99 of each in ms. */
    private static void checksApi(Map<String, List<String>> o) throws IOException {
        int calls = Math.toIntExact(number(o, "calls", 200));
        int warmup = Math.toIntExact(number(o, "warmup", 50));
        if (calls < 1 || warmup < 0) {
            throw new IllegalArgumentException("--calls must be at least 1 and --warmup at least 0");
        }
        Duration limit = Duration.ofSeconds(number(o, "limit-s", 120));
        String header = Files.readString(Path.of(single(o, "auth-header"))).strip();
        String authorization = header.substring(header.indexOf(':') + 1).strip();
        String base = "http://127.0.0.1:" + number(o, "api", -1) + "/api/tunnels/" + single(o, "tunnel");
        Map<String, Integer> endpoints = new LinkedHashMap<>();
        endpoints.put("checks_100", 100);
        endpoints.put("checks_1000", 1000);
        endpoints.put("stats", 0);
        try (HttpClient client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build()) {
            for (Map.Entry<String, Integer> e : endpoints.entrySet()) {
                String path = e.getValue() > 0 ? "/checks?limit=" + e.getValue() : "/stats";
                ChecksApi.Timings t = ChecksApi.time(client, base, authorization, path, e.getValue(), warmup, calls,
                        limit);
                System.err.printf(Locale.ROOT, "checks-api GET %s: %d calls after %d, p50 %.2f ms, p99 %.2f ms%n",
                        path, calls, warmup, t.percentile(50), t.percentile(99));
                System.out.printf(Locale.ROOT, "api_%s_p50_ms=%.3f%napi_%s_p99_ms=%.3f%n", e.getKey(),
                        t.percentile(50), e.getKey(), t.percentile(99));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    private static void table(Map<String, List<String>> o) throws IOException {
        Properties properties = new Properties();
        try (Reader in = Files.newBufferedReader(Path.of(single(o, "results")))) {
            properties.load(in);
        }
        Map<String, Double> results = new LinkedHashMap<>();
        for (String name : properties.stringPropertyNames()) {
            try {
                double v = Double.parseDouble(properties.getProperty(name).trim());
                if (Double.isFinite(v)) {
                    results.put(name, v);
                }
            } catch (NumberFormatException e) {
                System.err.println("table: " + name + " is not a number: " + properties.getProperty(name));
            }
        }
        GoalTable table = new GoalTable(GoalTable.ROWS, results);
        System.out.print(table.render());
        System.out.flush();
        if (!table.complete()) {
            System.err.println("table: some measurements are missing (n/a): see the progress output above");
            System.exit(1);
        }
    }

    static Map<String, List<String>> options(List<String> args) {
        Map<String, List<String>> options = new LinkedHashMap<>();
        for (int i = 0; i < args.size(); i += 2) {
            String name = args.get(i);
            if (!name.startsWith("--") || i + 1 >= args.size()) {
                throw new IllegalArgumentException("expected --name value pairs, got " + name);
            }
            options.computeIfAbsent(name.substring(2), k -> new ArrayList<>()).add(args.get(i + 1));
        }
        return options;
    }

    private static List<String> required(Map<String, List<String>> o, String name) {
        List<String> values = o.get(name);
        if (values == null) {
            throw new IllegalArgumentException("--" + name + " is required");
        }
        return values;
    }

    /** The values of a required option written {@code KEY=VALUE}, each split in two; {@code form} names them. */
    private static List<String[]> pairs(Map<String, List<String>> o, String name, String form) {
        List<String[]> pairs = new ArrayList<>();
        for (String value : required(o, name)) {
            String[] parts = value.split("=", 2);
            if (parts.length != 2) {
                throw new IllegalArgumentException("--" + name + " wants " + form + ", not " + value);
            }
            pairs.add(parts);
        }
        return pairs;
    }

    private static String single(Map<String, List<String>> o, String name) {
        return required(o, name).getLast();
    }

    private static long number(Map<String, List<String>> o, String name, long fallback) {
        if (!o.containsKey(name)) {
            if (fallback < 0) {
                throw new IllegalArgumentException("--" + name + " is required");
            }
            return fallback;
        }
        try {
            return Long.parseLong(single(o, name));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + " wants a whole number, not " + single(o, name));
        }
    }

    private static InetSocketAddress address(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("expected HOST:PORT, not " + hostPort);
        }
        return new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
    }

    private static void usage(String problem) {
        System.err.println("bench tool: " + problem);
        System.err.println("""
                usage: java -cp picotunnel-bench-all.jar io.picotunnel.bench.tools.BenchTool COMMAND OPTIONS
                  relay --route LISTEN_PORT=HOST:PORT ... [--delay-ms 25] [--rate-mbit 1000] [--buffer-mib 16]
                        [--max-seconds 900]
                  idle  --holder-port PORT --service HOST:PORT --count N [--warmup N] --pid NAME=PID ...
                        [--timeout-s 60] [--gc true|false]
                  rtt   --echo-port PORT --path NAME=PORT ... [--bytes 64] [--samples N] [--warmup N] [--limit-s 20]
                  checks-seed --db FILE --tunnel ID [--service ID ...] [--days 365] [--interval-s 60]
                  checks-api  --api PORT --tunnel ID --auth-header FILE [--calls 200] [--warmup 50] [--limit-s 120]
                  table --results FILE""");
        System.exit(2);
    }
}
