package io.picotunnel.bench.report;

import java.util.Map;

/**
 * One row of the codec table (micro-benchmarks have no baseline).
 *
 * @param scenario          the row label
 * @param benchmark         {@code Class.method} of the JMH benchmark
 * @param params            parameters the row's result must have
 * @param bytesPerOperation bytes each operation encodes or decodes, for the MB/s column
 */
public record CodecRow(String scenario, String benchmark, Map<String, String> params, long bytesPerOperation) {
}
