package io.picotunnel.bench;

import io.picotunnel.bench.report.ResultTable;
import io.picotunnel.protocol.net.Transport;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.format.OutputFormatFactory;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;

/**
 * Runs the benchmarks through JMH and prints the result tables on standard output (JMH's progress goes to
 * standard error). Exits 2 on bad options, 1 when a benchmark failed or a number is missing.
 */
public final class BenchMain {

    private BenchMain() {
    }

    public static void main(String[] args) throws Exception {
        List<String> arguments = Arrays.asList(args);
        if (arguments.contains("--help") || arguments.contains("-h")) {
            System.out.println(BenchOptions.USAGE);
            return;
        }
        BenchOptions options;
        try {
            options = BenchOptions.parse(arguments);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.err.println(BenchOptions.USAGE);
            System.exit(2);
            return;
        }
        Collection<RunResult> results = new Runner(jmhOptions(options).build(),
                OutputFormatFactory.createFormatInstance(System.err, VerboseMode.NORMAL)).run();
        ResultTable table = new ResultTable(results);
        System.out.println(header(options));
        System.out.println(table.comparisons(Scenarios.comparisons(options)));
        System.out.print(table.codecs(Scenarios.codecs()));
        System.out.flush();
        if (!table.complete()) {
            System.err.println("some benchmarks produced no result: see the JMH output above");
            System.exit(1);
        }
    }

    private static ChainedOptionsBuilder jmhOptions(BenchOptions o) {
        ChainedOptionsBuilder builder = new OptionsBuilder()
                .param("sizeMiB", String.valueOf(o.sizeMiB()))
                .param("streams", "1", String.valueOf(o.streams()))
                .warmupIterations(o.warmups())
                .warmupTime(TimeValue.milliseconds(o.iterationTime().toMillis()))
                .measurementIterations(o.iterations())
                .measurementTime(TimeValue.milliseconds(o.iterationTime().toMillis()))
                .forks(o.forks())
                .jvmArgsAppend("--enable-native-access=ALL-UNNAMED", "-Xms512m", "-Xmx512m",
                        "-Dpicotunnel.epoll=" + Transport.isEpoll())
                .timeout(TimeValue.minutes(2))
                .shouldFailOnError(true);
        for (String include : Scenarios.benchmarkIncludes()) {
            builder.include(include);
        }
        return builder;
    }

    private static String header(BenchOptions o) {
        String when = ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'"));
        return String.join(System.lineSeparator(),
                "# PicoTunnel benchmarks, " + when + (o.quick() ? " (--quick: rough numbers)" : ""),
                "# JDK " + Runtime.version() + ", " + Runtime.getRuntime().availableProcessors() + " cores, Netty "
                        + (Transport.isEpoll() ? "epoll" : "nio") + "; " + o.sizeMiB() + " MiB per throughput"
                        + " operation; " + o.warmups() + "+" + o.iterations() + " iterations of "
                        + o.iterationTime().toMillis() / 1000.0 + " s, " + o.forks() + " fork(s)",
                "# baseline: plain loopback TCP to the receiver, one connection per stream (same for every row)",
                "# yamux: yamux streams over one loopback TCP connection (CLIENT and SERVER sessions), same threads",
                "# tcp service: one connection per stream through a tcp service of a PicoTunnel server and client"
                        + " in this process (WebSocket, yamux, real sockets)",
                "# ratio = picotunnel / baseline: for MB/s higher is better, for round trips (us) lower is better",
                "");
    }
}
