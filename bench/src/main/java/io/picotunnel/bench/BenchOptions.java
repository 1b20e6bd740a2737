package io.picotunnel.bench;

import java.time.Duration;
import java.util.List;

/**
 * What bench/micro.sh asked for. {@link #parse} starts from the full defaults or, with {@code --quick}, from a
 * smoke-run setting that finishes within a minute, then applies the other options in any order.
 *
 * @param quick        smoke run: short iterations, in-process, small transfers (numbers are rough)
 * @param sizeMiB      MiB per throughput operation (split over the streams)
 * @param streams      streams of the "many streams" scenario
 * @param warmups      warm-up iterations per benchmark
 * @param iterations   measured iterations per benchmark
 * @param iterationTime length of every iteration
 * @param forks        JVMs per benchmark (0: run in this JVM)
 */
public record BenchOptions(boolean quick, int sizeMiB, int streams, int warmups, int iterations,
                           Duration iterationTime, int forks) {

    public static final String USAGE = """
            usage: bench/micro.sh [--quick] [--size-mib N] [--streams N] [--warmups N] [--iterations N]
                                  [--time SECONDS] [--forks N] [--no-build]
              --quick         smoke run in under a minute: rough numbers, every row of the table
              --size-mib N    MiB per throughput operation (default 64, quick 8)
              --streams N     concurrent streams of the many-streams scenario (default 64)
              --warmups N     warm-up iterations per benchmark (default 3, quick 1)
              --iterations N  measured iterations per benchmark (default 5, quick 1)
              --time SECONDS  length of each iteration (default 2, quick 0.5)
              --forks N       JVMs per benchmark, 0 runs them in this JVM (default 1, quick 0)
              --no-build      use the jar already built in bench/target""";

    public BenchOptions {
        positive("--size-mib", sizeMiB);
        positive("--streams", streams);
        positive("--iterations", iterations);
        if (warmups < 0) {
            throw new IllegalArgumentException("--warmups must not be negative");
        }
        if (forks < 0) {
            throw new IllegalArgumentException("--forks must not be negative");
        }
        if (iterationTime.isNegative() || iterationTime.isZero()) {
            throw new IllegalArgumentException("--time must be positive");
        }
        if (sizeMiB * 1024L * 1024L / streams < 1024) {
            throw new IllegalArgumentException("--size-mib " + sizeMiB + " over " + streams
                    + " streams leaves less than 1 KiB per stream: use a larger size or fewer streams");
        }
    }

    public static BenchOptions defaults() {
        return new BenchOptions(false, 64, 64, 3, 5, Duration.ofSeconds(2), 1);
    }

    public static BenchOptions quickDefaults() {
        return new BenchOptions(true, 8, 64, 1, 1, Duration.ofMillis(500), 0);
    }

    public static BenchOptions parse(List<String> args) {
        BenchOptions o = args.contains("--quick") ? quickDefaults() : defaults();
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            switch (arg) {
                case "--quick" -> {
                }
                case "--size-mib" -> o = o.withSizeMiB(number(args, ++i, arg));
                case "--streams" -> o = o.withStreams(number(args, ++i, arg));
                case "--warmups" -> o = new BenchOptions(o.quick, o.sizeMiB, o.streams, number(args, ++i, arg),
                        o.iterations, o.iterationTime, o.forks);
                case "--iterations" -> o = new BenchOptions(o.quick, o.sizeMiB, o.streams, o.warmups,
                        number(args, ++i, arg), o.iterationTime, o.forks);
                case "--time" -> o = new BenchOptions(o.quick, o.sizeMiB, o.streams, o.warmups, o.iterations,
                        seconds(args, ++i, arg), o.forks);
                case "--forks" -> o = new BenchOptions(o.quick, o.sizeMiB, o.streams, o.warmups, o.iterations,
                        o.iterationTime, number(args, ++i, arg));
                default -> throw new IllegalArgumentException("unknown option " + arg);
            }
        }
        return o;
    }

    private BenchOptions withSizeMiB(int size) {
        return new BenchOptions(quick, size, streams, warmups, iterations, iterationTime, forks);
    }

    private BenchOptions withStreams(int n) {
        return new BenchOptions(quick, sizeMiB, n, warmups, iterations, iterationTime, forks);
    }

    private static int number(List<String> args, int index, String option) {
        if (index >= args.size()) {
            throw new IllegalArgumentException(option + " needs a number");
        }
        try {
            return Integer.parseInt(args.get(index));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " needs a whole number, not \"" + args.get(index) + "\"");
        }
    }

    private static Duration seconds(List<String> args, int index, String option) {
        if (index >= args.size()) {
            throw new IllegalArgumentException(option + " needs a number of seconds");
        }
        try {
            return Duration.ofMillis(Math.round(Double.parseDouble(args.get(index)) * 1000));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " needs a number of seconds, not \"" + args.get(index) + "\"");
        }
    }

    private static void positive(String option, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(option + " must be at least 1");
        }
    }
}
