package io.picotunnel.server.monitor;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.testbed.CommitFaults;
import io.picotunnel.server.testbed.TcpServicePorts;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.testkit.EchoServer;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code GET /metrics}, read by Prometheus' own text-format parser (the Python client's, run as a process): the
 * same counts as the API; behind the admin token unless made public; unknown paths are 404s, not the UI page.
 */
class MetricsTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** Prints every sample of the exposition on stdin as a JSON list of [name, labels, value]. */
    private static final String PARSER = """
            import sys, json
            from prometheus_client.parser import text_string_to_metric_families
            samples = []
            for family in text_string_to_metric_families(sys.stdin.read()):
                for s in family.samples:
                    samples.append([s.name, s.labels, s.value])
            print(json.dumps(samples))
            """;

    @TempDir
    Path dataDir;

    @Test
    void metricsParsedByAPrometheusParserShowTheSameCountsAsTheApi() throws Exception {
        try (EchoServer echo = new EchoServer();
             Testbed testbed = new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1s"))) {
            String id = testbed.createConnectedTunnel("metered");
            TcpServicePorts.Created created = testbed.createTcpServiceOnFreePort(id, echo.address());
            int port = created.port();
            String serviceId = created.id();
            for (int size : new int[] {12_345, 54_321}) {
                try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
                    socket.getOutputStream().write(new byte[size]);
                    assertThat(socket.getInputStream().readNBytes(size)).hasSize(size);
                }
            }
            await().atMost(10, TimeUnit.SECONDS).until(() -> testbed.checks(id, null, 1).size() == 1
                    && testbed.checks(id, null, 1).get(0).get("status").asText().equals("up"));
            JsonNode service = testbed.api().get("/api/tunnels/" + id + "/services").json().get(0);
            await().atMost(10, TimeUnit.SECONDS).until(() -> testbed.api().get("/api/tunnels/" + id + "/services")
                    .json().get(0).get("active_connections").asLong() == 0);

            ApiClient.Response scraped = testbed.api().get("/metrics");
            assertThat(scraped.status()).isEqualTo(200);
            assertThat(scraped.header("Content-Type")).startsWith("text/plain");
            JsonNode samples = parse(scraped.raw().body());

            Map<String, String> ofService = Map.of("tunnel", id, "service", serviceId, "type", "tcp");
            assertThat(value(samples, "picotunnel_service_bytes_in_total", ofService)).isEqualTo(12_345 + 54_321);
            assertThat(value(samples, "picotunnel_service_bytes_out_total", ofService)).isEqualTo(12_345 + 54_321);
            assertThat(value(samples, "picotunnel_service_bytes_in_total", ofService))
                    .isEqualTo(service.get("bytes_in").asDouble());
            assertThat(value(samples, "picotunnel_tcp_connections_total", ofService))
                    .isEqualTo(service.get("total_connections").asDouble()).isEqualTo(2);
            assertThat(value(samples, "picotunnel_tunnel_bytes_out_total", Map.of("tunnel", id)))
                    .isEqualTo(12_345 + 54_321);
            assertThat(value(samples, "picotunnel_tunnels_connected", Map.of())).isEqualTo(1);
            assertThat(value(samples, "picotunnel_clients_connected", Map.of())).isEqualTo(1);
            assertThat(value(samples, "picotunnel_check_up", Map.of("tunnel", id, "service", ""))).isEqualTo(1);
            assertThat(value(samples, "picotunnel_checks_total", Map.of("tunnel", id, "service", "", "status", "up")))
                    .isGreaterThanOrEqualTo(1);
            assertThat(value(samples, "jvm_threads_live_threads", Map.of())).isPositive();
            assertThat(value(samples, "process_uptime_seconds", Map.of())).isPositive();
        }
    }

    /**
     * A deleted tunnel or service leaves /metrics by the next round of checks: a {@code picotunnel_check_up} stuck at
     * 0 would keep an alert rule ({@code picotunnel_check_up == 0}) firing until the server restarts. So does the
     * check state of a service whose probe was switched off.
     */
    @Test
    void deletedTunnelsAndServicesAndProbesSwitchedOffLeaveTheMetrics() throws Exception {
        try (Testbed testbed = new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1s"))) {
            String gone = testbed.createTunnel("gone").get("id").asText();
            String kept = testbed.createConnectedTunnel("kept");
            String probed = testbed.createTcpServiceOnFreePort(kept, "127.0.0.1:9").id();
            String deletedService = testbed.createTcpServiceOnFreePort(kept, "127.0.0.1:9").id();
            assertThat(testbed.api().get("/api/tunnels/" + gone).status()).isEqualTo(200);
            await().atMost(10, TimeUnit.SECONDS).until(() -> {
                String scraped = testbed.api().get("/metrics").raw().body();
                return scraped.contains("picotunnel_check_up{service=\"\",tunnel=\"" + gone + "\"}")
                        && scraped.contains("picotunnel_check_up{service=\"" + probed + "\"")
                        && scraped.contains("picotunnel_check_up{service=\"" + deletedService + "\"");
            });
            assertThat(testbed.api().get("/metrics").raw().body()).contains("tunnel=\"" + gone + "\"");

            assertThat(testbed.api().delete("/api/tunnels/" + gone).status()).isEqualTo(204);
            assertThat(testbed.api().delete("/api/services/" + deletedService).status()).isEqualTo(204);
            assertThat(testbed.api().patch("/api/services/" + probed, "{\"health_check\": false}").status())
                    .isEqualTo(200);

            await().atMost(10, TimeUnit.SECONDS).untilAsserted(() -> {
                String scraped = testbed.api().get("/metrics").raw().body();
                assertThat(scraped).doesNotContain(gone).doesNotContain(deletedService)
                        .doesNotContain("picotunnel_check_up{service=\"" + probed + "\"")
                        .contains("picotunnel_check_up{service=\"\",tunnel=\"" + kept + "\"}");
            });
            // The service whose probe is off keeps its traffic and its count of past checks.
            assertThat(testbed.api().get("/metrics").raw().body())
                    .contains("picotunnel_service_bytes_in_total{service=\"" + probed + "\"")
                    .contains("picotunnel_checks_total{service=\"" + probed + "\"");
        }
    }

    /**
     * A deleted service's traffic series left /metrics at its DELETE, its check series
     * ({@code picotunnel_checks_total}, {@code picotunnel_check_up}) only at the next round of checks: until then a
     * {@code picotunnel_check_up} of 0 kept an alert rule firing for a service that no longer exists.
     */
    @Test
    void aDeletedServicesCheckSeriesGoRightAfterTheDelete() throws Exception {
        try (EchoServer echo = new EchoServer();
             Testbed testbed = new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1s"))) {
            String id = testbed.createConnectedTunnel("checked");
            String serviceId = testbed.createTcpServiceOnFreePort(id, echo.address()).id();
            String checkUp = "picotunnel_check_up{service=\"" + serviceId + "\",tunnel=\"" + id + "\"} 1.0";
            String checks = "picotunnel_checks_total{service=\"" + serviceId + "\",status=\"up\",tunnel=\"" + id
                    + "\"}";
            await().atMost(10, TimeUnit.SECONDS).until(() -> {
                String scraped = testbed.api().get("/metrics").raw().body();
                return scraped.contains(checkUp) && scraped.contains(checks) && testbed.checks(id, null, 1).size() == 1;
            });
            // Right after a round is stored (its metrics are counted before), so that the next is a second away.
            long newest = testbed.checks(id, null, 1).get(0).get("id").asLong();
            await().atMost(10, TimeUnit.SECONDS)
                    .until(() -> testbed.checks(id, null, 1).get(0).get("id").asLong() > newest);

            ApiClient.Response deleted = testbed.api().delete("/api/services/" + serviceId);
            assertThat(deleted.status()).as(deleted.toString()).isEqualTo(204);
            String scraped = testbed.api().get("/metrics").raw().body();
            assertThat(series(scraped, "service=\"" + serviceId + "\"")).as("right after the DELETE").isEmpty();
            assertThat(series(scraped, "picotunnel_check_up{service=\"\",tunnel=\"" + id + "\"}")).hasSize(1);
        }
    }

    /**
     * A check of a service under way when the service was deleted was counted once it ended: its series came back
     * after the DELETE had removed them, and stayed until the next round of checks. The target holds its answer to
     * the probe until the DELETE is through.
     */
    @Test
    void aCheckUnderWayWhenItsServiceIsDeletedDoesNotBringItsSeriesBack() throws Exception {
        try (HeldTarget target = new HeldTarget();
             Testbed testbed = new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "2s"))) {
            String id = testbed.createConnectedTunnel("held");
            String serviceId = testbed.createService(id, "{\"type\":\"http\",\"domain\":\"held.example.test\","
                    + "\"target_addr\":\"" + target.address() + "\"}").get("id").asText();
            target.awaitProbe();

            ApiClient.Response deleted = testbed.api().delete("/api/services/" + serviceId);
            assertThat(deleted.status()).as(deleted.toString()).isEqualTo(204);
            target.answer();
            // The round is stored once its metrics are counted: the tunnel's check of it is then in the list.
            await().atMost(10, TimeUnit.SECONDS).until(() -> testbed.checks(id, null, 1).size() == 1);

            String scraped = testbed.api().get("/metrics").raw().body();
            assertThat(series(scraped, "service=\"" + serviceId + "\"")).as("after the check under way ended")
                    .isEmpty();
            assertThat(series(scraped, "picotunnel_check_up{service=\"\",tunnel=\"" + id + "\"}")).hasSize(1);
        }
    }

    /** As above, for a tunnel deleted while its service (and so the round with its own check) is being checked. */
    @Test
    void checksUnderWayWhenTheirTunnelIsDeletedDoNotBringItsSeriesBack() throws Exception {
        try (HeldTarget target = new HeldTarget();
             Testbed testbed = new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "2s"))) {
            String id = testbed.createConnectedTunnel("held");
            String serviceId = testbed.createService(id, "{\"type\":\"http\",\"domain\":\"held.example.test\","
                    + "\"target_addr\":\"" + target.address() + "\"}").get("id").asText();
            String bystander = testbed.createTunnel("bystander").get("id").asText();
            target.awaitProbe();

            ApiClient.Response deleted = testbed.api().delete("/api/tunnels/" + id);
            assertThat(deleted.status()).as(deleted.toString()).isEqualTo(204);
            target.answer();
            await().atMost(10, TimeUnit.SECONDS).until(() -> testbed.checks(bystander, null, 1).size() == 1);

            String scraped = testbed.api().get("/metrics").raw().body();
            assertThat(series(scraped, "tunnel=\"" + id + "\"")).as("after the checks under way ended").isEmpty();
            assertThat(series(scraped, serviceId)).isEmpty();
            assertThat(series(scraped, "picotunnel_check_up{service=\"\",tunnel=\"" + bystander + "\"}")).hasSize(1);
        }
    }

    /**
     * The checks of a tunnel deleted during a round are refused by the database: they were told as a storage failure
     * (WARN "Could not store 2 check(s) (... FOREIGN KEY constraint failed)"). They are dropped quietly, and the checks
     * of the other subjects of the round stored.
     */
    @Test
    void checksOfATunnelDeletedDuringTheRoundAreDroppedWithoutAWarning() throws Exception {
        try (LogCapture log = new LogCapture(Monitor.class, Level.INFO);
             HeldTarget target = new HeldTarget();
             Testbed testbed = new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "2s"))) {
            // Made first, the bystander is checked in every round that checks the service.
            String bystander = testbed.createTunnel("bystander").get("id").asText();
            String id = testbed.createConnectedTunnel("held");
            testbed.createService(id, "{\"type\":\"http\",\"domain\":\"held.example.test\","
                    + "\"target_addr\":\"" + target.address() + "\"}");
            target.awaitProbe();
            // The rounds before the held one have ended (one at a time); the held one has stored nothing yet.
            int before = testbed.checks(bystander, null, 100).size();

            ApiClient.Response deleted = testbed.api().delete("/api/tunnels/" + id);
            assertThat(deleted.status()).as(deleted.toString()).isEqualTo(204);
            target.answer();
            await("the bystander's check of the held round is stored").atMost(10, TimeUnit.SECONDS)
                    .until(() -> testbed.checks(bystander, null, 100).size() >= before + 1);
            // A round after the held one has stored its checks: the held one ended, with what it logs.
            await().atMost(15, TimeUnit.SECONDS).until(() -> testbed.checks(bystander, null, 100).size() >= before + 2);

            assertThat(log.messages(Level.WARN)).isEmpty();
        }
    }

    /**
     * A service's meters are registered as the store tells {@link Traffic} of its create, inside the transaction and so
     * before the commit. A round of checks ending then dropped them (it looked the service up in the database, which
     * did not have it yet), and its traffic series were gone for good. Here the create stays under way (Traffic told,
     * nothing stored) for two rounds.
     */
    @Test
    void aServiceBeingCreatedKeepsItsSeriesThroughTheEndOfARound() throws Exception {
        try (Testbed testbed = new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "2s"))) {
            String id = testbed.createConnectedTunnel("creating");
            Service stored = testbed.server().store().service(testbed.createService(id, "{\"type\":\"http\","
                    + "\"domain\":\"stored.example.test\",\"target_addr\":\"127.0.0.1:9\"}").get("id").asText())
                    .orElseThrow();
            Service creating = new Service("service-being-created", id, stored.type(), "creating.example.test",
                    stored.pathPrefix(), stored.tlsMode(), stored.listenAddr(), stored.targetAddr(), stored.enabled(),
                    stored.createdAt(), stored.httpsRedirect(), stored.access());
            testbed.server().traffic().onServiceChange(null, creating);
            assertThat(series(testbed.api().get("/metrics").raw().body(), "service=\"service-being-created\""))
                    .isNotEmpty();
            int before = testbed.checks(id, null, 100).size();

            // The round under way, if any, and one that began after the create's meters were registered.
            await().atMost(15, TimeUnit.SECONDS).until(() -> testbed.checks(id, null, 100).size() >= before + 2);

            String scraped = testbed.api().get("/metrics").raw().body();
            assertThat(series(scraped, "picotunnel_service_bytes_in_total{service=\"service-being-created\""))
                    .as("the series of the service being created, after two rounds").hasSize(1);
            testbed.server().traffic().onServiceChange(creating, null); // the create undone
        }
    }

    /**
     * A delete the store undoes (here its commit fails: a deferred foreign key that a trigger on {@code services}
     * breaks, as in CommitFailureTest) leaves the services as they were, and their series too. The series were
     * removed when the monitoring was told of the delete, inside the transaction, and the undo registered them again:
     * the check counts and the request-duration histogram started from 0, {@code picotunnel_check_up} was missing
     * until the next round of checks.
     */
    @Test
    void seriesOfServicesWhoseDeleteIsUndoneKeepTheirValues() throws Exception {
        try (MeteredTunnel metered = new MeteredTunnel(dataDir, "undone", 1_000, exchange -> {
                exchange.sendResponseHeaders(204, -1);
                exchange.close();
            })) {
            Testbed testbed = metered.testbed();
            String id = metered.id();
            TcpServicePorts.Created tcp = metered.tcp();
            String httpId = metered.httpId();
            assertThat(metered.httpAnswer()).startsWith("HTTP/1.1 204");
            String checks = "picotunnel_checks_total{service=\"" + tcp.id() + "\",status=\"up\",tunnel=\"" + id
                    + "\"} ";
            String checkUp = "picotunnel_check_up{service=\"" + tcp.id() + "\",tunnel=\"" + id + "\"} 1.0";
            String duration = "picotunnel_http_request_duration_seconds_count{service=\"" + httpId
                    + "\",tunnel=\"" + id + "\",type=\"http\"} ";
            String tcpBytes = "picotunnel_service_bytes_in_total{service=\"" + tcp.id() + "\",tunnel=\"" + id
                    + "\",type=\"tcp\"} 1000.0";
            await().atMost(15, TimeUnit.SECONDS).until(() -> {
                String scraped = testbed.api().get("/metrics").raw().body();
                return valueOf(scraped, checks) >= 3 && scraped.contains(checkUp) && scraped.contains(tcpBytes)
                        && valueOf(scraped, duration) == 1;
            });
            double checksBefore = valueOf(testbed.api().get("/metrics").raw().body(), checks);
            CommitFaults.failEveryCommitThat(dataDir, "AFTER DELETE ON services");

            for (String path : List.of("/api/services/" + tcp.id(), "/api/services/" + httpId, "/api/tunnels/" + id)) {
                ApiClient.Response deleted = testbed.api().delete(path);
                assertThat(deleted.status()).as("%s %s", path, deleted).isEqualTo(500);

                String scraped = testbed.api().get("/metrics").raw().body();
                assertThat(valueOf(scraped, checks)).as("after %s", path).isGreaterThanOrEqualTo(checksBefore);
                assertThat(scraped).as("after %s", path).contains(checkUp).contains(tcpBytes);
                assertThat(valueOf(scraped, duration)).as("after %s", path).isEqualTo(1);
            }
            JsonNode services = testbed.api().get("/api/tunnels/" + id + "/services").json();
            assertThat(services).hasSize(2);
            for (JsonNode service : services) {
                assertThat(service.get("total_connections").asLong()).as("%s", service).isEqualTo(1);
                if (service.get("id").asText().equals(tcp.id())) {
                    assertThat(service.get("bytes_in").asLong()).as("%s", service).isEqualTo(1_000);
                } else {
                    assertThat(service.get("requests").get("2xx").asLong()).as("%s", service).isEqualTo(1);
                }
            }
        }
    }

    /** The value of the one line of {@code scraped} that starts with {@code series}, or -1 when there is none. */
    private static double valueOf(String scraped, String series) {
        return scraped.lines().filter(line -> line.startsWith(series)).mapToDouble(line ->
                Double.parseDouble(line.substring(series.length()).trim())).findFirst().orElse(-1);
    }

    @Test
    void metricsNeedTheAdminTokenUnlessMadePublic() {
        try (Testbed testbed = new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1h"))) {
            ApiClient anonymous = testbed.api().withToken(null);
            ApiClient.Response refused = anonymous.get("/metrics");
            assertThat(refused.status()).isEqualTo(401);
            assertThat(refused.json().get("error").asText()).isEqualTo("unauthorized");
            assertThat(testbed.api().withToken("wrong-token-0123456789").get("/metrics").status()).isEqualTo(401);
            assertThat(testbed.api().get("/metrics").status()).isEqualTo(200);
        }
        try (Testbed testbed = new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1h",
                Setting.METRICS_PUBLIC, "true"))) {
            ApiClient.Response open = testbed.api().withToken(null).get("/metrics");
            assertThat(open.status()).isEqualTo(200);
            assertThat(open.raw().body()).contains("picotunnel_tunnels_connected");
        }
    }

    @Test
    void pathsOutsideTheUiRoutesAre404sAndTheUiRoutesStillServeThePage() {
        try (Testbed testbed = new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1h"))) {
            ApiClient anonymous = testbed.api().withToken(null);
            String[] outside = {"/metricsx", "/nothing", "/tunnels", "/tunnels/abc/services", "/favicon.png"};
            for (String path : outside) {
                ApiClient.Response response = anonymous.get(path);
                assertThat(response.status()).as(path).isEqualTo(404);
                assertThat(response.json().get("error").asText()).isEqualTo("not_found");
            }
            for (String path : new String[] {"/", "/tunnels/0123456789abcdef", "/tunnels/0123456789abcdef/"}) {
                ApiClient.Response response = anonymous.get(path);
                assertThat(response.status()).as(path).isEqualTo(200);
                assertThat(response.raw().body()).contains("<div id=\"root\"></div>");
            }
        }
    }

    /** An HTTP target that holds its answer to the first request (a check's probe) until told to answer. */
    private static final class HeldTarget implements AutoCloseable {
        private final CountDownLatch probed = new CountDownLatch(1);
        private final CountDownLatch answer = new CountDownLatch(1);
        private final HttpServer server;

        HeldTarget() throws IOException {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            server.createContext("/", exchange -> {
                probed.countDown();
                try {
                    answer.await(20, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                exchange.sendResponseHeaders(200, -1);
                exchange.close();
            });
            server.start();
        }

        String address() {
            return "127.0.0.1:" + server.getAddress().getPort();
        }

        void awaitProbe() throws InterruptedException {
            assertThat(probed.await(20, TimeUnit.SECONDS)).as("a check's probe reached the target").isTrue();
        }

        void answer() {
            answer.countDown();
        }

        @Override
        public void close() {
            answer.countDown();
            server.stop(0);
        }
    }

    /** The lines of a scrape that have {@code text}. */
    private static List<String> series(String scraped, String text) {
        return scraped.lines().filter(line -> line.contains(text)).toList();
    }

    private static double value(JsonNode samples, String name, Map<String, String> labels) {
        for (JsonNode sample : samples) {
            if (!sample.get(0).asText().equals(name)) {
                continue;
            }
            Map<String, String> actual = new HashMap<>();
            sample.get(1).properties().forEach(field -> actual.put(field.getKey(), field.getValue().asText()));
            if (actual.equals(labels)) {
                return sample.get(2).asDouble();
            }
        }
        throw new AssertionError("no sample " + name + labels + " in " + samples);
    }

    private static JsonNode parse(String exposition) throws IOException, InterruptedException {
        Process python = new ProcessBuilder("/usr/bin/python3", "-c", PARSER).redirectErrorStream(false).start();
        try (OutputStream in = python.getOutputStream()) {
            in.write(exposition.getBytes(StandardCharsets.UTF_8));
        }
        byte[] out = python.getInputStream().readAllBytes();
        String errors = new String(python.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(python.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(python.exitValue()).as("the parser: %s", errors).isZero();
        return MAPPER.readTree(out);
    }
}
