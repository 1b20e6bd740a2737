package io.picotunnel.bench.report;

import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/** Renders JMH results as the tables bench/micro.sh prints; a result that is missing shows as {@code -}. */
public final class ResultTable {

    private static final String COMPARISON_FORMAT = "%-48s | %12s | %12s | %6s%n";
    private static final String CODEC_FORMAT = "%-48s | %12s | %12s%n";

    private final Collection<RunResult> results;
    private boolean complete = true;

    public ResultTable(Collection<RunResult> results) {
        this.results = results;
    }

    /** False once a rendered row had a missing or non-finite number. */
    public boolean complete() {
        return complete;
    }

    public String comparisons(List<Comparison> rows) {
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, COMPARISON_FORMAT, "scenario", "baseline", "picotunnel", "ratio"));
        out.append(rule(48, 12, 12, 6));
        for (Comparison row : rows) {
            double baseline = value(row, row.baselinePath());
            double picotunnel = value(row, row.picotunnelPath());
            out.append(String.format(Locale.ROOT, COMPARISON_FORMAT, row.scenario(), number(baseline, "%.1f"),
                    number(picotunnel, "%.1f"), number(picotunnel / baseline, "%.2f")));
        }
        return out.toString();
    }

    public String codecs(List<CodecRow> rows) {
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, CODEC_FORMAT, "codec micro-benchmark", "ops/s", "MB/s"));
        out.append(rule(48, 12, 12));
        for (CodecRow row : rows) {
            Optional<Result<?>> result = find(row.benchmark(), row.params());
            double opsPerSecond = result.map(Result::getScore).orElse(Double.NaN);
            out.append(String.format(Locale.ROOT, CODEC_FORMAT, row.scenario(), number(opsPerSecond, "%.0f"),
                    number(opsPerSecond * row.bytesPerOperation() / 1e6, "%.2f")));
        }
        return out.toString();
    }

    private double value(Comparison row, String path) {
        Map<String, String> params = new HashMap<>(row.params());
        params.put("path", path);
        return find(row.benchmark(), params).map(r -> row.metric().of(r, row.bytesPerOperation()))
                .orElse(Double.NaN);
    }

    private Optional<Result<?>> find(String benchmark, Map<String, String> params) {
        for (RunResult run : results) {
            BenchmarkParams p = run.getParams();
            if (!p.getBenchmark().endsWith("." + benchmark)) {
                continue;
            }
            boolean matches = params.entrySet().stream()
                    .allMatch(e -> e.getValue().equals(p.getParam(e.getKey())));
            if (matches) {
                return Optional.of(run.getPrimaryResult());
            }
        }
        return Optional.empty();
    }

    private String number(double value, String format) {
        if (!Double.isFinite(value)) {
            complete = false;
            return "-";
        }
        return String.format(Locale.ROOT, format, value);
    }

    private static String rule(int... widths) {
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < widths.length; i++) {
            int extra = i == 0 || i == widths.length - 1 ? 1 : 2;
            parts.add("-".repeat(widths[i] + extra));
        }
        return String.join("+", parts) + System.lineSeparator();
    }
}
