package io.picotunnel.bench.report;

import org.openjdk.jmh.results.Result;

/** What a table cell shows of a JMH result. */
public enum Metric {
    /** Throughput in MB/s (10^6 bytes) from a Throughput result in operations/s. */
    MEGABYTES_PER_SECOND,
    /** Median of a SampleTime result, in its unit (the benchmarks use microseconds). */
    P50,
    /** 99th percentile of a SampleTime result. */
    P99;

    public double of(Result<?> result, long bytesPerOperation) {
        return switch (this) {
            case MEGABYTES_PER_SECOND -> result.getScore() * bytesPerOperation / 1e6;
            case P50 -> result.getStatistics().getPercentile(50.0);
            case P99 -> result.getStatistics().getPercentile(99.0);
        };
    }
}
