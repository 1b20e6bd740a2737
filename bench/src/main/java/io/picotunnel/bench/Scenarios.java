package io.picotunnel.bench;

import io.picotunnel.bench.codec.StreamHeaderDecodeBenchmark;
import io.picotunnel.bench.codec.YamuxFrameCodecBenchmark;
import io.picotunnel.bench.dataplane.Path;
import io.picotunnel.bench.dataplane.RoundTripBenchmark;
import io.picotunnel.bench.dataplane.ThroughputBenchmark;
import io.picotunnel.bench.report.CodecRow;
import io.picotunnel.bench.report.Comparison;
import io.picotunnel.bench.report.Metric;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The rows bench/micro.sh prints and the benchmarks behind them. */
final class Scenarios {

    private static final String DIRECT = Path.DIRECT.paramValue();
    private static final String YAMUX = Path.YAMUX.paramValue();
    private static final String TUNNEL = Path.TUNNEL.paramValue();

    /** A PicoTunnel path compared with the direct baseline: its row label, {@code path} value, what it streams. */
    private record Contender(String name, String path, String unit) {
    }

    private Scenarios() {
    }

    /** Regular expressions of the benchmarks to run, for JMH's include. */
    static List<String> benchmarkIncludes() {
        return List.of(ThroughputBenchmark.class.getName(), RoundTripBenchmark.class.getName(),
                YamuxFrameCodecBenchmark.class.getName(), StreamHeaderDecodeBenchmark.class.getName());
    }

    static List<Comparison> comparisons(BenchOptions o) {
        String throughput = ThroughputBenchmark.class.getSimpleName() + ".transfer";
        String roundTrip = RoundTripBenchmark.class.getSimpleName() + ".roundTrip";
        List<Comparison> rows = new ArrayList<>();
        for (Contender c : List.of(new Contender("yamux", YAMUX, "stream"),
                new Contender("tcp service", TUNNEL, "connection"))) {
            String label = c.name() + ": ";
            String path = c.path();
            String unit = c.unit();
            rows.add(new Comparison(label + "1 " + unit + " throughput (MB/s)", throughput, Map.of("streams", "1"),
                    Metric.MEGABYTES_PER_SECOND, ThroughputBenchmark.bytesPerOperation(o.sizeMiB(), 1), DIRECT, path));
            rows.add(new Comparison(label + o.streams() + " " + unit + "s throughput (MB/s)", throughput,
                    Map.of("streams", String.valueOf(o.streams())), Metric.MEGABYTES_PER_SECOND,
                    ThroughputBenchmark.bytesPerOperation(o.sizeMiB(), o.streams()), DIRECT, path));
            rows.add(new Comparison(label + "64 B round trip p50 (us)", roundTrip, Map.of(), Metric.P50, 0, DIRECT,
                    path));
            rows.add(new Comparison(label + "64 B round trip p99 (us)", roundTrip, Map.of(), Metric.P99, 0, DIRECT,
                    path));
        }
        return rows;
    }

    static List<CodecRow> codecs() {
        String frames = YamuxFrameCodecBenchmark.class.getSimpleName();
        return List.of(
                new CodecRow("yamux frame encode, 64 B data", frames + ".encodeDataFrame",
                        Map.of("payloadBytes", "64"), 64),
                new CodecRow("yamux frame encode, 16 KiB data", frames + ".encodeDataFrame",
                        Map.of("payloadBytes", "16384"), 16384),
                new CodecRow("yamux frame decode, 64 B data", frames + ".decodeDataFrames",
                        Map.of("payloadBytes", "64"), 64),
                new CodecRow("yamux frame decode, 16 KiB data", frames + ".decodeDataFrames",
                        Map.of("payloadBytes", "16384"), 16384),
                new CodecRow("stream header decode", StreamHeaderDecodeBenchmark.class.getSimpleName() + ".decode",
                        Map.of(), StreamHeaderDecodeBenchmark.encodedLength()));
    }
}
