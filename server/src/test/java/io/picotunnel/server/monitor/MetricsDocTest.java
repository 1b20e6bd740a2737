package io.picotunnel.server.monitor;

import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.testbed.Testbed;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.SoftAssertions.assertSoftly;
import static org.awaitility.Awaitility.await;

/**
 * docs/monitoring.md's table of /metrics series against a real server on loopback: one tunnel with a connected
 * client, one http and one tcp service, a request through each and a round of checks of all three. Every
 * {@code picotunnel_*} series the table names is in the scrape with the labels its row names, and every one in the
 * scrape is in the table.
 */
class MetricsDocTest {

    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    private static final Pattern ROW = Pattern.compile("(?m)^\\| (`picotunnel_[^|]*)\\|([^|]*)\\|");
    private static final Pattern CODE = Pattern.compile("`([a-z_]+)`");
    private static final Pattern SAMPLE = Pattern.compile("^(picotunnel_\\w+)(?:\\{(.*)})? \\S+$");
    private static final Pattern LABEL = Pattern.compile("(\\w+)=\"(?:[^\"\\\\]|\\\\.)*\"");
    private static final Pattern TYPE = Pattern.compile("(?m)^# TYPE (picotunnel_\\w+) histogram$");

    @TempDir
    Path dataDir;

    @Test
    void everySeriesOfTheDocsTableIsScrapedWithItsLabelsAndNoOtherIs() throws Exception {
        Map<String, Set<String>> documented = documentedSeries(Files.readString(ROOT.resolve("docs/monitoring.md")));
        assertThat(documented).as("the series docs/monitoring.md lists").hasSizeGreaterThan(10);

        try (MeteredTunnel metered = new MeteredTunnel(dataDir, "documented", 100, exchange -> {
                exchange.getRequestBody().readAllBytes();
                exchange.sendResponseHeaders(200, 2);
                exchange.getResponseBody().write("ok".getBytes(StandardCharsets.US_ASCII));
                exchange.close();
            })) {
            assertThat(metered.httpAnswer()).startsWith("HTTP/1.1 200");
            // The check series of a tunnel or service appear with its first check (as the docs say).
            await().atMost(20, TimeUnit.SECONDS).until(() -> {
                String scraped = scrape(metered.testbed());
                return scraped.contains("picotunnel_check_up{service=\"\",tunnel=\"" + metered.id() + "\"}")
                        && scraped.contains("picotunnel_check_up{service=\"" + metered.tcp().id() + "\"")
                        && scraped.contains("picotunnel_check_up{service=\"" + metered.httpId() + "\"");
            });

            Map<String, Set<String>> scraped = scrapedSeries(scrape(metered.testbed()));
            assertSoftly(softly -> {
                softly.assertThat(scraped.keySet()).as("series in /metrics, all documented")
                        .isSubsetOf(documented.keySet());
                softly.assertThat(documented.keySet()).as("series the docs list, all in /metrics")
                        .isSubsetOf(scraped.keySet());
                for (Map.Entry<String, Set<String>> series : scraped.entrySet()) {
                    if (documented.containsKey(series.getKey())) {
                        softly.assertThat(series.getValue()).as("the labels of %s", series.getKey())
                                .isEqualTo(documented.get(series.getKey()));
                    }
                }
            });
        }
    }

    /**
     * The series of the table's rows, each with its label names: a row names one series or several, the names after
     * the first abbreviated to their end ({@code `_bytes_out_total`}), which follows the first name's
     * {@code picotunnel_<word>}. Labels are the row's code spans outside parentheses (inside are their values).
     */
    private static Map<String, Set<String>> documentedSeries(String doc) {
        Map<String, Set<String>> series = new TreeMap<>();
        Matcher row = ROW.matcher(doc);
        while (row.find()) {
            Set<String> labels = new TreeSet<>();
            Matcher label = CODE.matcher(row.group(2).replaceAll("\\([^)]*\\)", ""));
            while (label.find()) {
                labels.add(label.group(1));
            }
            List<String> names = new ArrayList<>();
            Matcher name = CODE.matcher(row.group(1));
            while (name.find()) {
                names.add(name.group(1));
            }
            String first = names.get(0);
            String stem = first.substring(0, first.indexOf('_', "picotunnel_".length()));
            for (String each : names) {
                series.put(each.startsWith("_") ? stem + each : each, labels);
            }
        }
        return series;
    }

    /**
     * The series of the scrape, each with its label names; a histogram's samples ({@code _bucket}, {@code _count},
     * {@code _sum}) are its one series, the bucket's {@code le} being Prometheus' own.
     */
    private static Map<String, Set<String>> scrapedSeries(String scrape) {
        Set<String> histograms = new TreeSet<>();
        Matcher type = TYPE.matcher(scrape);
        while (type.find()) {
            histograms.add(type.group(1));
        }
        Map<String, Set<String>> series = new HashMap<>();
        for (String line : scrape.split("\n")) {
            Matcher sample = SAMPLE.matcher(line);
            if (!sample.matches()) {
                continue;
            }
            String name = sample.group(1);
            for (String histogram : histograms) {
                if (name.equals(histogram + "_bucket") || name.equals(histogram + "_count")
                        || name.equals(histogram + "_sum")) {
                    name = histogram;
                }
            }
            Set<String> labels = new TreeSet<>();
            Matcher label = LABEL.matcher(sample.group(2) == null ? "" : sample.group(2));
            while (label.find()) {
                labels.add(label.group(1));
            }
            labels.remove("le");
            Set<String> before = series.putIfAbsent(name, labels);
            assertThat(before == null || before.equals(labels)).as("every sample of %s has the same labels", name)
                    .isTrue();
        }
        return series;
    }

    private static String scrape(Testbed testbed) {
        ApiClient.Response response = testbed.api().get("/metrics");
        assertThat(response.status()).as(response.toString()).isEqualTo(200);
        return response.raw().body();
    }
}
