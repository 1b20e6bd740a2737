package io.picotunnel.bench.tools;

import io.picotunnel.bench.tools.GoalTable.AtLeast;
import io.picotunnel.bench.tools.GoalTable.AtMost;
import io.picotunnel.bench.tools.GoalTable.Baseline;
import io.picotunnel.bench.tools.GoalTable.Information;
import io.picotunnel.bench.tools.GoalTable.Row;
import io.picotunnel.bench.tools.GoalTable.ValueAtMost;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class GoalTableTest {

    private static final Row THROUGHPUT = new Row("1 stream (MiB/s)",
            List.of(new Baseline("direct", "direct"), new Baseline("ssh -R", "ssh")), "tunnel", new AtLeast(0.5, "direct"));
    private static final Row LATENCY = new Row("p99 (ms)", List.of(new Baseline("nginx", "nginx")), "proxy",
            new AtMost(2, "nginx"));
    private static final Row MEMORY = new Row("idle (KiB each)", List.of(), "kib", new ValueAtMost(8, "KiB"));
    private static final Row INFO = new Row("tcp (req/s)", List.of(new Baseline("nginx", "nginx")), "tcp",
            new Information("nginx"));

    @Test
    void rateGoalIsTheRatioToTheNamedBaselineAtLeastTheFactor() {
        assertThat(cells(THROUGHPUT, Map.of("direct", 1000.0, "ssh", 700.0, "tunnel", 500.0)))
                .containsExactly("1 stream (MiB/s)", "direct 1000; ssh -R 700", "500", "0.50", ">= 0.5 x direct", "yes");
        assertThat(cells(THROUGHPUT, Map.of("direct", 1000.0, "ssh", 700.0, "tunnel", 499.0)))
                .endsWith("0.499", ">= 0.5 x direct", "no");
    }

    @Test
    void latencyGoalIsTheRatioAtMostTheFactor() {
        assertThat(cells(LATENCY, Map.of("nginx", 2.5, "proxy", 5.0))).endsWith("5.00", "2.00", "<= 2 x nginx", "yes");
        assertThat(cells(LATENCY, Map.of("nginx", 2.5, "proxy", 5.1))).endsWith("no");
    }

    @Test
    void memoryGoalJudgesTheValueItselfWithoutBaselineOrRatio() {
        assertThat(cells(MEMORY, Map.of("kib", 7.9))).containsExactly("idle (KiB each)", "-", "7.90", "-", "<= 8 KiB",
                "yes");
        assertThat(cells(MEMORY, Map.of("kib", 9.5))).endsWith("no");
    }

    @Test
    void ratioOfRoundsIsTheMedianOfEachRoundsOwnRatioNotTheRatioOfMedians() {
        // Round 2 ran while the machine was slow for both paths: by medians 900 / 1000 would meet the goal, but in
        // every round but the last the tunnel carried half of what direct carried just before it.
        Map<String, Double> results = Map.of("direct", 1000.0, "tunnel", 900.0,
                "direct@1", 1000.0, "direct@2", 600.0, "direct@3", 2000.0,
                "tunnel@1", 500.0, "tunnel@2", 300.0, "tunnel@3", 900.0);
        assertThat(cells(THROUGHPUT, results)).containsExactly("1 stream (MiB/s)", "direct 1000; ssh -R n/a", "900",
                "0.50", ">= 0.5 x direct", "yes");
        Map<String, Double> slower = new HashMap<>(results);
        slower.put("tunnel@2", 290.0);
        assertThat(cells(THROUGHPUT, slower)).endsWith("0.48", ">= 0.5 x direct", "no");
        // The same for latencies, lower being better: 6/2, 4/2.5, 9/2.5 in turn.
        assertThat(cells(LATENCY, Map.of("nginx", 2.5, "proxy", 6.0, "nginx@1", 2.0, "nginx@2", 2.5, "nginx@3", 2.5,
                "proxy@1", 6.0, "proxy@2", 4.0, "proxy@3", 9.0))).endsWith("6.00", "3.00", "<= 2 x nginx", "no");
    }

    @Test
    void roundsThatDoNotPairUpFallBackToTheRatioOfTheValues() {
        assertThat(cells(THROUGHPUT, Map.of("direct", 1000.0, "tunnel", 900.0, "direct@1", 1000.0, "direct@2", 1000.0,
                "tunnel@1", 100.0))).endsWith("0.90", ">= 0.5 x direct", "yes");
        assertThat(cells(THROUGHPUT, Map.of("direct", 1000.0, "tunnel", 900.0, "tunnel@1", 100.0)))
                .endsWith("0.90", ">= 0.5 x direct", "yes");
        assertThat(cells(THROUGHPUT, Map.of("direct", 1000.0, "tunnel", 900.0, "direct@1", 0.0, "tunnel@1", 100.0)))
                .endsWith("0.90", ">= 0.5 x direct", "yes");
        assertThat(cells(THROUGHPUT, Map.of("tunnel", 900.0, "direct@1", 1000.0, "tunnel@1", 100.0)))
                .endsWith("n/a", ">= 0.5 x direct", "n/a");
    }

    @Test
    void aRatioJustShortOfItsGoalShowsTheDigitsThatSayItDoesNotMeetIt() {
        // 14342 / 16073 = 0.8923: two decimals would print 0.89, and 0.8951 would print 0.90 next to "no".
        Row http = new Row("HTTP (req/s)", List.of(new Baseline("nginx chain", "chain")), "service",
                new AtLeast(0.9, "nginx chain"));
        assertThat(cells(http, Map.of("chain", 16073.0, "service", 14342.0)))
                .endsWith("0.89", ">= 0.9 x nginx chain", "no");
        assertThat(cells(http, Map.of("chain", 10000.0, "service", 8951.0)))
                .endsWith("0.895", ">= 0.9 x nginx chain", "no");
        assertThat(cells(http, Map.of("chain", 100000.0, "service", 89999.0)))
                .endsWith("0.89999", ">= 0.9 x nginx chain", "no");
        assertThat(cells(http, Map.of("chain", 10000.0, "service", 9000.0)))
                .endsWith("0.90", ">= 0.9 x nginx chain", "yes");
        // Lower is better: 2.004 would print 2.00 next to "no".
        assertThat(cells(LATENCY, Map.of("nginx", 1.0, "proxy", 2.004))).endsWith("2.004", "<= 2 x nginx", "no");
        assertThat(cells(LATENCY, Map.of("nginx", 1.0, "proxy", 1.996))).endsWith("2.00", "<= 2 x nginx", "yes");
    }

    @Test
    void informationalRowShowsItsRatioButNoVerdict() {
        assertThat(cells(INFO, Map.of("nginx", 40000.0, "tcp", 28000.0))).endsWith("0.70", "(information)", "-");
    }

    @Test
    void missingMeasurementShowsNotAvailableAndLeavesTheTableIncomplete() {
        GoalTable table = new GoalTable(List.of(THROUGHPUT, MEMORY), Map.of("direct", 1000.0, "tunnel", 400.0));
        assertThat(table.complete()).isFalse();
        assertThat(cells(THROUGHPUT, Map.of("direct", 1000.0, "tunnel", 400.0))).containsExactly("1 stream (MiB/s)",
                "direct 1000; ssh -R n/a", "400", "0.40", ">= 0.5 x direct", "no");
        assertThat(cells(THROUGHPUT, Map.of("ssh", 700.0, "tunnel", 400.0))).endsWith("n/a", ">= 0.5 x direct", "n/a");
        assertThat(cells(MEMORY, Map.of())).endsWith("n/a", "-", "<= 8 KiB", "n/a");
        assertThat(new GoalTable(List.of(MEMORY), Map.of("kib", 1.0)).complete()).isTrue();
    }

    @Test
    void renderedTableHasAHeaderARuleAndOneAlignedLinePerRow() {
        String text = new GoalTable(List.of(THROUGHPUT, MEMORY), Map.of("direct", 1000.0, "ssh", 700.0,
                "tunnel", 500.0, "kib", 9.5)).render();
        List<String> lines = text.lines().toList();
        assertThat(lines).hasSize(4);
        assertThat(lines.get(0).split(" \\| ")).extracting(String::trim)
                .containsExactly("metric", "baseline", "picotunnel", "ratio", "goal", "met");
        assertThat(lines.get(1)).matches("-+(-\\+-+)+");
        assertThat(lines.stream().filter(l -> l.contains("|")).map(l -> l.indexOf('|')).distinct()).hasSize(1);
        assertThat(lines.get(1).indexOf('+')).isEqualTo(lines.get(0).indexOf('|'));
    }

    @Test
    void everyRowOfTheBenchNamesDistinctResultsAndABaselineItShows() {
        Set<String> keys = new HashSet<>();
        Map<String, Double> all = new HashMap<>();
        for (Row row : GoalTable.ROWS) {
            assertThat(keys.add(row.key())).as("%s has a result name of its own", row.metric()).isTrue();
            all.put(row.key(), 1.0);
            row.baselines().forEach(b -> all.put(b.key(), 1.0));
            if (row.goal().baseline() != null) {
                assertThat(row.baselines()).extracting(Baseline::label).contains(row.goal().baseline());
            }
        }
        GoalTable table = new GoalTable(GoalTable.ROWS, all);
        assertThat(table.complete()).isTrue();
        assertThat(table.render().lines()).hasSize(GoalTable.ROWS.size() + 2);
    }

    @Test
    void numbersKeepThreeSignificantDigitsWithoutExponent() {
        assertThat(GoalTable.format(3518.24)).isEqualTo("3518");
        assertThat(GoalTable.format(35.84)).isEqualTo("35.8");
        assertThat(GoalTable.format(2.614)).isEqualTo("2.61");
        assertThat(GoalTable.format(0.4123)).isEqualTo("0.412");
        assertThat(GoalTable.format(null)).isEqualTo("n/a");
    }

    private static List<String> cells(Row row, Map<String, Double> results) {
        String line = new GoalTable(List.of(row), results).render().lines().toList().get(2);
        return Arrays.stream(line.split("\\|")).map(String::trim).toList();
    }
}
