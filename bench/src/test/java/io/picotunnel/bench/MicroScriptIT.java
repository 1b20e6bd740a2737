package io.picotunnel.bench;

import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * Keeps bench/micro.sh (the JMH micro-benchmarks) true: a quick run on the jar built in this build prints every row of both tables with
 * finite numbers. It asserts nothing about the numbers themselves (timings depend on the machine's load).
 */
class MicroScriptIT {

    private static final Pattern NUMBER = Pattern.compile("-?\\d+(\\.\\d+)?");

    @Test
    void quickRunPrintsEveryRowWithFiniteNumbers() throws Exception {
        Path out = Path.of("target", "micro-quick.out");
        Path err = Path.of("target", "micro-quick.err");
        ProcessBuilder builder = new ProcessBuilder("bash", "micro.sh", "--quick", "--no-build");
        // A smoke run checks the table, not the numbers: it need not wait for another JMH run's lock.
        builder.environment().put("BENCH_JAVA_OPTS", "-Djmh.ignoreLock=true");
        Process run = builder
                .redirectOutput(out.toFile())
                .redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .start();
        if (!run.waitFor(5, TimeUnit.MINUTES)) {
            run.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            fail("bench/micro.sh --quick did not finish within 5 minutes; its output is in " + err.toAbsolutePath());
        }
        List<String> lines = Files.readAllLines(out);
        assertThat(run.exitValue()).as("exit code; JMH output in %s", err.toAbsolutePath()).isZero();

        assertThat(lines).anyMatch(l -> l.matches("scenario +\\| +baseline +\\| +picotunnel +\\| +ratio"));
        assertRow(lines, "yamux: 1 stream throughput (MB/s)", 3);
        assertRow(lines, "yamux: 64 streams throughput (MB/s)", 3);
        assertRow(lines, "yamux: 64 B round trip p50 (us)", 3);
        assertRow(lines, "yamux: 64 B round trip p99 (us)", 3);
        assertRow(lines, "tcp service: 1 connection throughput (MB/s)", 3);
        assertRow(lines, "tcp service: 64 connections throughput (MB/s)", 3);
        assertRow(lines, "tcp service: 64 B round trip p50 (us)", 3);
        assertRow(lines, "tcp service: 64 B round trip p99 (us)", 3);

        assertThat(lines).anyMatch(l -> l.matches("codec micro-benchmark +\\| +ops/s +\\| +MB/s"));
        assertRow(lines, "yamux frame encode, 64 B data", 2);
        assertRow(lines, "yamux frame encode, 16 KiB data", 2);
        assertRow(lines, "yamux frame decode, 64 B data", 2);
        assertRow(lines, "yamux frame decode, 16 KiB data", 2);
        assertRow(lines, "stream header decode", 2);
    }

    private static void assertRow(List<String> lines, String scenario, int numbers) {
        String row = lines.stream().filter(l -> l.startsWith(scenario + " ")).findFirst()
                .orElseThrow(() -> new AssertionError("no row \"" + scenario + "\" in:\n" + String.join("\n", lines)));
        String[] cells = row.split("\\|");
        assertThat(cells).as(row).hasSize(numbers + 1);
        for (int i = 1; i < cells.length; i++) {
            String cell = cells[i].trim();
            assertThat(cell).as("cell %d of \"%s\"", i, row).matches(NUMBER);
            assertThat(Double.parseDouble(cell)).as(row).isFinite();
        }
    }
}
