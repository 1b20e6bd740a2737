package io.picotunnel.bench.report;

import java.util.Map;

/**
 * One row of the comparison table: the same benchmark run on the baseline path and on PicoTunnel's path.
 *
 * @param scenario          the row label, with its unit
 * @param benchmark         {@code Class.method} of the JMH benchmark
 * @param params            parameters the row's results must have (besides {@code path})
 * @param metric            what the cells show
 * @param bytesPerOperation bytes one operation moves (for throughput rows)
 * @param baselinePath      the {@code path} parameter of the baseline run
 * @param picotunnelPath    the {@code path} parameter of PicoTunnel's run
 */
public record Comparison(String scenario, String benchmark, Map<String, String> params, Metric metric,
                         long bytesPerOperation, String baselinePath, String picotunnelPath) {
}
