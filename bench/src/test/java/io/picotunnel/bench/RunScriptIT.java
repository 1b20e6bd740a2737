package io.picotunnel.bench;

import io.picotunnel.bench.tools.GoalTable;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

/**
 * Keeps bench/run.sh ({@code make bench}) true: a quick run of the real executables (the jars this build left in
 * server/target and client/target, through the same launcher as dist/) against iperf3, ssh -R, nginx (one, and two
 * chained) and wrk prints
 * every row of the table with numbers in every cell, and leaves no process behind, also when it is stopped half
 * way. It asserts nothing about the numbers themselves: they depend on the machine and its load.
 */
class RunScriptIT {

    private static final String NUMBER = "-?\\d+(\\.\\d+)?";
    private static final Pattern BASELINES = Pattern.compile("-|[a-zA-Z -]+ " + NUMBER + "(; [a-zA-Z -]+ " + NUMBER
            + ")*");

    @Test
    void quickRunPrintsEveryRowWithItsGoalAndStopsEverythingItStarted() throws Exception {
        Path tmp = scratch("quick");
        Path out = Path.of("target", "run-quick.out");
        Path err = Path.of("target", "run-quick.err");
        Process run = start(tmp, out, err);
        if (!run.waitFor(5, TimeUnit.MINUTES)) {
            run.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            fail("bench/run.sh --quick did not finish within 5 minutes; its progress is in " + err.toAbsolutePath());
        }
        List<String> lines = Files.readAllLines(out);
        assertThat(run.exitValue()).as("exit code; progress in %s", err.toAbsolutePath()).isZero();

        assertThat(lines).anyMatch(l -> l.matches("metric +\\| baseline +\\| picotunnel +\\| ratio +\\| goal +\\| met"));
        assertThat(lines).anyMatch(l -> l.startsWith("# wrk: 2 threads, 64 connections, the median of 2 runs of 1 s per path"));
        assertThat(Files.readString(err)).contains("wrk nginx, run 2:", "wrk nginx2, run 2:", "wrk service, run 2:",
                "wrk tcp, run 2:");
        // The warm-up: six runs through each tunnel, then two more if the JVMs' compilers were still busy (up to
        // --warmup-max-seconds 8: at most once); the round trips' warm-up: three untimed runs through the tunnel.
        int warmRuns = Files.readString(err).split("iperf3 warmup_ws: ", -1).length - 1;
        assertThat(warmRuns).isIn(6, 8);
        assertThat(Files.readString(err).split("iperf3 warmup_wss: ", -1)).hasSize(warmRuns + 1);
        assertThat(Files.readString(err).contains("s: two more runs")).isEqualTo(warmRuns == 8);
        assertThat(lines).anyMatch(l -> l.matches("# iperf3: " + warmRuns + " runs of 1 s through each tunnel first, 1 and 8 "
                + "streams in turn \\(the JVMs' compilers used [0-9.]+ s of CPU in the last [0-9.]+ s of them\\), then the "
                + "median of 2 runs .*; the tunnels' JVMs' compilers used [0-9.]+ s of CPU during these runs"));
        assertThat(lines).anyMatch(l -> l.contains("round trip: the median of 2 runs per path taken in turn, each 500 "
                + "samples after 200 on a new connection, the tunnel's path after three untimed runs of 1000 first"));
        assertThat(Files.readString(err)).doesNotContain("round-trip warm-up failed");
        for (String path : List.of("direct", "ssh", "nginx2", "tunnel")) {
            assertThat(Files.readString(err)).contains("rtt " + path + ", run 1: 500 samples",
                    "rtt " + path + ", run 2: 500 samples");
        }
        for (String key : List.of("direct_1", "ssh_1", "ws_1", "wss_1", "nginx2_1", "direct_8", "ssh_8", "ws_8",
                "wss_8", "nginx2_8")) {
            assertThat(Files.readString(err).split("iperf3 iperf_" + key + ": ", -1)).as(key).hasSize(3);
        }
        for (GoalTable.Row row : GoalTable.ROWS) {
            String line = lines.stream().filter(l -> l.startsWith(row.metric() + " ")).findFirst()
                    .orElseThrow(() -> new AssertionError("no row \"" + row.metric() + "\" in:\n" + String.join("\n",
                            lines)));
            String[] cells = line.split("\\|");
            assertThat(cells).as(line).hasSize(6);
            assertThat(cells[1].trim()).as("baselines of %s", line).matches(BASELINES);
            assertThat(cells[1].trim().equals("-")).as(line).isEqualTo(row.baselines().isEmpty());
            assertThat(cells[2].trim()).as("value of %s", line).matches(NUMBER);
            assertThat(cells[3].trim()).as("ratio of %s", line).matches(row.goal().baseline() == null ? "-" : NUMBER);
            assertThat(cells[4].trim()).as(line).isEqualTo(row.goal().text());
            assertThat(cells[5].trim()).as(line).matches(row.goal() instanceof GoalTable.Information ? "-" : "yes|no");
        }
        assertThat(processesUsing(tmp)).as("processes the bench started, still running").isEmpty();

        // Each round's run is kept next to the median, and the table's ratio pairs them by round: with two rounds,
        // the mean of the two rounds' own ratios.
        Properties results = new Properties();
        try (Stream<Path> work = Files.list(tmp)) {
            Path dir = work.filter(p -> p.getFileName().toString().startsWith("picotunnel-bench.")).findFirst()
                    .orElseThrow(() -> new AssertionError("--keep-work left no scratch directory in " + tmp));
            try (Reader in = Files.newBufferedReader(dir.resolve("results.properties"))) {
                results.load(in);
            }
            deleteTree(dir); // some 180 MB, mostly the checks API's database
        }
        for (String key : List.of("iperf_ws_1", "iperf_direct_1", "iperf_ws_8", "iperf_nginx2_1", "http_service_rps",
                "http_nginx2_rps", "http_service_p99_ms", "rtt_tunnel_p50_us", "rtt_nginx2_p50_us",
                "rtt_direct_p99_us")) {
            assertThat(results).as(key).containsKeys(key + "@1", key + "@2").doesNotContainKey(key + "@3");
        }
        assertThat(ratioOf(lines, "iperf3 1 stream, tcp service over ws (MiB/s)"))
                .isCloseTo(pairedRatio(results, "iperf_ws_1", "iperf_direct_1"), within(0.006));
        assertThat(ratioOf(lines, "HTTP 1 KiB, http service (req/s)"))
                .isCloseTo(pairedRatio(results, "http_service_rps", "http_nginx2_rps"), within(0.006));
        assertThat(ratioOf(lines, "64 B round trip, tcp service p50 (us)"))
                .isCloseTo(pairedRatio(results, "rtt_tunnel_p50_us", "rtt_nginx2_p50_us"), within(0.006));
    }

    private static double ratioOf(List<String> lines, String metric) {
        String line = lines.stream().filter(l -> l.startsWith(metric + " ")).findFirst().orElseThrow();
        return Double.parseDouble(line.split("\\|")[3].trim());
    }

    private static double pairedRatio(Properties results, String key, String baseline) {
        double first = value(results, key + "@1") / value(results, baseline + "@1");
        double second = value(results, key + "@2") / value(results, baseline + "@2");
        return (first + second) / 2;
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    private static double value(Properties results, String key) {
        return Double.parseDouble(results.getProperty(key).trim());
    }

    @Test
    void stoppedHalfWayItStopsEveryProcessItStarted() throws Exception {
        Path tmp = scratch("stopped");
        Path out = Path.of("target", "run-stopped.out");
        Path err = Path.of("target", "run-stopped.err");
        Process run = start(tmp, out, err);
        await("the servers, clients, sshd and nginx up").atMost(Duration.ofMinutes(3))
                .pollInterval(Duration.ofMillis(200))
                .until(() -> !run.isAlive() || Files.readString(err).contains("ready after"));
        assertThat(run.isAlive()).as("still running once ready; progress in %s", err.toAbsolutePath()).isTrue();
        assertThat(processesUsing(tmp)).as("processes started by the bench").isNotEmpty();

        run.destroy(); // SIGTERM to the script
        if (!run.waitFor(2, TimeUnit.MINUTES)) {
            run.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            fail("bench/run.sh did not stop within 2 minutes of SIGTERM; progress in " + err.toAbsolutePath());
        }
        assertThat(run.exitValue()).isNotZero();
        assertThat(processesUsing(tmp)).as("processes the bench started, still running after it stopped").isEmpty();
    }

    /** A TMPDIR of the run's own: every process the bench starts inherits it, so it tells them from all others. */
    private static Path scratch(String name) throws IOException {
        Path tmp = Path.of("target", "bench-tmp-" + name + "-" + ProcessHandle.current().pid()).toAbsolutePath();
        Files.createDirectories(tmp);
        return tmp;
    }

    private static Process start(Path tmp, Path out, Path err) throws IOException {
        // Two rounds of iperf3 and of wrk: each of their rows is then the median (mean of the middle two) of runs
        // taken in turn; two rounds of round trips likewise. A warm-up of 1 s: six runs of 1 s through each tunnel,
        // and two more while the JVMs' compilers are busy, up to 8 s.
        // The scratch directory is kept for its results file (under tmp, in target/).
        ProcessBuilder builder = new ProcessBuilder("bash", "run.sh", "--quick", "--iperf-rounds", "2", "--wrk-rounds", "2",
                "--warmup-seconds", "1", "--warmup-max-seconds", "8", "--rtt-rounds", "2", "--from-target", "--keep-work");
        builder.environment().put("TMPDIR", tmp.toString());
        return builder.redirectOutput(out.toFile())
                .redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .start();
    }

    /**
     * The processes the bench started and left: those whose environment has {@code TMPDIR=tmp} or whose command line
     * names a path under it (nginx and sshd write their title over the environment), and their descendants (nginx's
     * workers, sshd's session for ssh -R).
     */
    private static List<String> processesUsing(Path tmp) throws IOException {
        String variable = "TMPDIR=" + tmp;
        Map<String, String> parents = new HashMap<>();
        Set<String> found = new HashSet<>();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
                String pid = p.getFileName().toString();
                String stat = read(p.resolve("stat")); // pid (comm) state ppid ...
                int close = stat.lastIndexOf(')');
                if (close > 0) {
                    parents.put(pid, stat.substring(close + 2).split(" ")[1]);
                }
                if (List.of(read(p.resolve("environ")).split("\0")).contains(variable)
                        || read(p.resolve("cmdline")).contains(tmp.toString())) {
                    found.add(pid);
                }
            }
        }
        int before;
        do { // add the descendants: at most as many rounds as there are processes
            before = found.size();
            parents.forEach((pid, parent) -> {
                if (found.contains(parent)) {
                    found.add(pid);
                }
            });
        } while (found.size() > before);
        return found.stream().sorted().map(pid -> pid + ": " + read(Path.of("/proc", pid, "cmdline")).replace('\0', ' '))
                .toList();
    }

    private static String read(Path procFile) {
        try {
            return new String(Files.readAllBytes(procFile), StandardCharsets.ISO_8859_1);
        } catch (IOException gone) {
            return ""; // the process ended
        }
    }
}
