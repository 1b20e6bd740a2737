package io.picotunnel.server.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.events.EventLog;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.Store;
import io.picotunnel.server.store.TlsMode;
import io.picotunnel.server.store.Tunnel;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.server.tunnel.TunnelRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** {@code /checks} and {@code /stats} on histories written straight into the database, and pruning. */
class MonitorApiTest {

    @TempDir
    Path dataDir;

    /** A server whose own checks stay out of the way (the first would run in an hour). */
    private Testbed quietServer() {
        return new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1h"));
    }

    private static Check up(Subject subject, long latency, Instant at) {
        return Check.up(subject, latency, at);
    }

    private static Check down(Subject subject, Instant at) {
        return Check.down(subject, "no client connected", at);
    }

    @Test
    void statsCountOnlyTheChecksInEachWindowAndLeaveGapsOut() {
        try (Testbed testbed = quietServer()) {
            String id = testbed.createTunnel("seeded").get("id").asText();
            Subject tunnel = Subject.tunnel(id);
            Instant now = Instant.now();
            List<Check> history = List.of(
                    down(tunnel, now.minus(Duration.ofDays(40))),        // outside every window
                    up(tunnel, 100, now.minus(Duration.ofDays(20))),
                    up(tunnel, 100, now.minus(Duration.ofDays(20)).plusSeconds(60)),
                    down(tunnel, now.minus(Duration.ofDays(6))),
                    down(tunnel, now.minus(Duration.ofDays(6)).plusSeconds(60)),
                    down(tunnel, now.minus(Duration.ofDays(6)).plusSeconds(120)),
                    down(tunnel, now.minus(Duration.ofDays(6)).plusSeconds(180)),
                    // nothing for almost six days: the server was stopped
                    down(tunnel, now.minus(Duration.ofHours(4))),
                    up(tunnel, 30, now.minus(Duration.ofHours(3))),
                    up(tunnel, 20, now.minus(Duration.ofHours(2))),
                    up(tunnel, 10, now.minus(Duration.ofHours(1))));
            Instant lastChange = now.minus(Duration.ofHours(3));
            testbed.server().checks().record(history, List.of(down(tunnel, now.minus(Duration.ofDays(6))),
                    up(tunnel, 30, lastChange)));

            JsonNode stats = testbed.api().get("/api/tunnels/" + id + "/stats").json();

            assertThat(stats.get("tunnel_id").asText()).isEqualTo(id);
            assertThat(stats.get("status").asText()).isEqualTo("up");
            assertThat(Instant.parse(stats.get("since").asText())).isEqualTo(lastChange.truncatedTo(java.time.temporal.ChronoUnit.MILLIS));
            assertThat(stats.get("uptime_24h").asDouble()).isEqualTo(75.0);
            assertThat(stats.get("avg_latency_ms_24h").asDouble()).isEqualTo(20.0);
            assertThat(stats.get("uptime_7d").asDouble()).isEqualTo(37.5);
            assertThat(stats.get("avg_latency_ms_7d").asDouble()).isEqualTo(20.0);
            assertThat(stats.get("uptime_30d").asDouble()).isEqualTo(50.0);
            assertThat(stats.get("avg_latency_ms_30d").asDouble()).isEqualTo(52.0);
        }
    }

    /**
     * docs/api.md says what {@code /stats} gives for a service re-enabled before its first new check: the figures of its
     * checks from before, not a null status as for a new service. The quiet server's first round is an hour away.
     */
    @Test
    void statsOfAServiceReEnabledBeforeItsFirstNewCheckAreThoseOfItsChecksFromBeforeAsTheApiDocSays()
            throws Exception {
        try (Testbed testbed = quietServer()) {
            String id = testbed.createTunnel("re-enabled").get("id").asText();
            String serviceId = testbed.createService(id, "{\"type\":\"http\",\"domain\":\"back.example.test\","
                    + "\"target_addr\":\"localhost:1\"}").get("id").asText();
            Instant checkedAt = Instant.now().minus(Duration.ofMinutes(5)).truncatedTo(ChronoUnit.MILLIS);
            Check before = up(new Subject(id, serviceId), 7, checkedAt);
            testbed.server().checks().record(List.of(before), List.of(before));
            ApiClient api = testbed.api();
            assertThat(api.patch("/api/services/" + serviceId, "{\"enabled\":false}").status()).isEqualTo(200);
            assertThat(api.patch("/api/services/" + serviceId, "{\"enabled\":true}").status()).isEqualTo(200);

            JsonNode service = api.get("/api/tunnels/" + id + "/stats").json().get("services").get(0);

            assertThat(service.get("service_id").asText()).isEqualTo(serviceId);
            assertThat(service.get("status").asText()).isEqualTo("up");
            assertThat(Instant.parse(service.get("last_checked_at").asText())).isEqualTo(checkedAt);
            assertThat(Instant.parse(service.get("since").asText())).isEqualTo(checkedAt);
            assertThat(service.get("uptime_24h").asDouble()).isEqualTo(100.0);
            assertThat(Files.readString(Path.of("").toAbsolutePath().getParent().resolve("docs/api.md"))
                    .replaceAll("\\s+", " "))
                    .contains("In `/stats`, a service re-enabled (or given another `target_addr`) keeps the figures of"
                            + " its checks from before until its first new check (one interval after the change, at"
                            + " most 10 s): `status`, `since` and `last_checked_at` of its newest check from before,"
                            + " and uptimes that count those checks; only a service never checked has a null"
                            + " `status`.");
        }
    }

    @Test
    void statsOfAServiceAlwaysDownAreZeroAndOfOneWithoutChecksNull() {
        try (Testbed testbed = quietServer()) {
            String id = testbed.createTunnel("services").get("id").asText();
            String downId = testbed.createService(id, "{\"type\":\"http\",\"domain\":\"down.example.test\","
                    + "\"target_addr\":\"localhost:1\"}").get("id").asText();
            String newId = testbed.createService(id, "{\"type\":\"http\",\"domain\":\"new.example.test\","
                    + "\"target_addr\":\"localhost:1\"}").get("id").asText();
            Subject downService = new Subject(id, downId);
            Instant now = Instant.now();
            List<Check> history = new ArrayList<>();
            for (int i = 1; i <= 5; i++) {
                history.add(Check.down(downService, "HTTP status 502", now.minus(Duration.ofMinutes(i))));
            }
            testbed.server().checks().record(history, List.of(history.getLast()));

            JsonNode stats = testbed.api().get("/api/tunnels/" + id + "/stats").json();

            assertThat(stats.get("status").isNull()).as("the tunnel itself has no checks: %s", stats).isTrue();
            assertThat(stats.get("uptime_24h").isNull()).isTrue();
            JsonNode services = stats.get("services");
            assertThat(services).hasSize(2);
            JsonNode alwaysDown = services.get(0).get("service_id").asText().equals(downId) ? services.get(0) : services.get(1);
            JsonNode noData = alwaysDown == services.get(0) ? services.get(1) : services.get(0);
            assertThat(alwaysDown.get("status").asText()).isEqualTo("down");
            for (String window : List.of("24h", "7d", "30d")) {
                assertThat(alwaysDown.get("uptime_" + window).asDouble()).isZero();
                assertThat(alwaysDown.get("avg_latency_ms_" + window).isNull()).isTrue();
                assertThat(noData.get("uptime_" + window).isNull()).isTrue();
                assertThat(noData.get("avg_latency_ms_" + window).isNull()).isTrue();
            }
            assertThat(noData.get("service_id").asText()).isEqualTo(newId);
            assertThat(noData.get("status").isNull()).isTrue();
            assertThat(noData.get("since").isNull()).isTrue();
        }
    }

    @Test
    void checksComeNewestFirstUpToTheLimitAndABadLimitIsA400() {
        try (Testbed testbed = quietServer()) {
            String id = testbed.createTunnel("many").get("id").asText();
            Instant start = Instant.now().minus(Duration.ofDays(1));
            List<Check> history = new ArrayList<>();
            for (int i = 0; i < 150; i++) {
                history.add(up(Subject.tunnel(id), i, start.plusSeconds(60L * i)));
            }
            testbed.server().checks().record(history, List.of());
            ApiClient api = testbed.api();

            JsonNode byDefault = api.get("/api/tunnels/" + id + "/checks").json();
            assertThat(byDefault).hasSize(100);
            assertThat(byDefault.get(0).get("latency_ms").asLong()).isEqualTo(149);
            assertThat(byDefault.get(99).get("latency_ms").asLong()).isEqualTo(50);
            assertThat(byDefault.get(0).get("tunnel_id").asText()).isEqualTo(id);
            assertThat(byDefault.get(0).get("service_id").isNull()).isTrue();
            assertThat(api.get("/api/tunnels/" + id + "/checks?limit=1000").json()).hasSize(150);
            assertThat(api.get("/api/tunnels/" + id + "/checks?limit=1").json()).hasSize(1);

            // Fullwidth and Arabic-Indic digits: Integer.parseInt read them as 5.
            for (String bad : List.of("0", "1001", "-3", "ten", "", "%EF%BC%95", "%D9%A5")) {
                for (String path : List.of("/api/tunnels/" + id + "/checks", "/api/events", "/api/tunnels/" + id + "/events")) {
                    ApiClient.Response response = api.get(path + "?limit=" + bad);
                    assertThat(response.status()).as("%s?limit=%s", path, bad).isEqualTo(400);
                    assertThat(response.json().get("error").asText()).isEqualTo("invalid_parameter");
                    assertThat(response.json().get("message").asText()).contains("limit").contains("1 to 1000");
                }
            }
            assertThat(api.get("/api/tunnels/nope/checks").status()).isEqualTo(404);
            assertThat(api.get("/api/tunnels/nope/stats").status()).isEqualTo(404);
            String other = testbed.createTunnel("other").get("id").asText();
            String foreign = testbed.createService(other, "{\"type\":\"http\",\"domain\":\"other.example.test\","
                    + "\"target_addr\":\"localhost:1\"}").get("id").asText();
            ApiClient.Response wrongTunnel = api.get("/api/tunnels/" + id + "/checks?service_id=" + foreign);
            assertThat(wrongTunnel.status()).isEqualTo(404);
            assertThat(wrongTunnel.json().get("error").asText()).isEqualTo("not_found");
        }
    }

    /**
     * The dashboard's heartbeats of every tunnel and every service in two requests, not two per tunnel: with a few
     * hundred tunnels, polling every 3 s made hundreds of requests each time.
     */
    @Test
    void everyTunnelsNewestChecksAndEveryServiceComeInOneRequestEach() {
        try (Testbed testbed = quietServer()) {
            ApiClient api = testbed.api();
            assertThat(api.get("/api/checks").raw().body()).isEqualTo("[]");
            assertThat(api.get("/api/services").raw().body()).isEqualTo("[]");
            String first = testbed.createTunnel("first").get("id").asText();
            String second = testbed.createTunnel("second").get("id").asText();
            String quiet = testbed.createTunnel("quiet").get("id").asText();
            String web = testbed.createService(second, "{\"type\":\"http\",\"domain\":\"web.example.test\","
                    + "\"target_addr\":\"localhost:1\"}").get("id").asText();
            String ssh = testbed.createService(first, "{\"type\":\"tcp\",\"listen_addr\":\"127.0.0.1:0\","
                    + "\"target_addr\":\"localhost:22\"}").get("id").asText();
            Instant start = Instant.now().minus(Duration.ofHours(2));
            List<Check> history = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                history.add(up(Subject.tunnel(first), i, start.plusSeconds(60L * i)));
                history.add(up(Subject.tunnel(second), 100 + i, start.plusSeconds(60L * i)));
                history.add(up(new Subject(second, web), 200 + i, start.plusSeconds(60L * i)));
            }
            testbed.server().checks().record(history, List.of());

            JsonNode checks = api.get("/api/checks").json();
            assertThat(checks).as("30 of each tunnel's own checks by default, none of a service's").hasSize(60);
            assertThat(checks.get(0).get("tunnel_id").asText()).isEqualTo(first);
            assertThat(checks.get(0).get("latency_ms").asLong()).as("newest first").isEqualTo(39);
            assertThat(checks.get(29).get("latency_ms").asLong()).isEqualTo(10);
            assertThat(checks.get(30).get("tunnel_id").asText()).isEqualTo(second);
            assertThat(checks.get(30).get("latency_ms").asLong()).isEqualTo(139);
            for (JsonNode check : checks) {
                assertThat(check.get("service_id").isNull()).isTrue();
                assertThat(check.get("tunnel_id").asText()).isNotEqualTo(quiet);
            }
            assertThat(api.get("/api/checks?limit=100").json()).hasSize(80);
            assertThat(api.get("/api/checks?limit=1").json()).hasSize(2);
            for (String bad : List.of("0", "101", "ten", "%EF%BC%95")) {
                ApiClient.Response response = api.get("/api/checks?limit=" + bad);
                assertThat(response.status()).as("limit=%s", bad).isEqualTo(400);
                assertThat(response.json().get("message").asText()).contains("1 to 100");
            }

            JsonNode services = api.get("/api/services").json();
            assertThat(services).hasSize(2);
            assertThat(services.get(0).get("id").asText()).as("in the order created").isEqualTo(web);
            assertThat(services.get(0).get("tunnel_id").asText()).isEqualTo(second);
            assertThat(services.get(1).get("id").asText()).isEqualTo(ssh);
            assertThat(services.get(1).toString()).isEqualTo(api.get("/api/tunnels/" + first + "/services").json().get(0).toString());

            ApiClient anonymous = api.withToken(null);
            assertThat(anonymous.get("/api/checks").status()).isEqualTo(401);
            assertThat(anonymous.get("/api/services").status()).isEqualTo(401);
        }
    }

    /**
     * The list of every service (and of one tunnel's) gives each the same object as its own answer, its check settings
     * among them, with settings of every kind mixed over several tunnels: the settings of a list are read at once.
     */
    @Test
    void listsOfManyServicesWithMixedCheckSettingsGiveEachServiceItsOwnObject() {
        try (Testbed testbed = quietServer()) {
            ApiClient api = testbed.api();
            List<String> tunnels = List.of(testbed.createTunnel("a").get("id").asText(),
                    testbed.createTunnel("b").get("id").asText(), testbed.createTunnel("c").get("id").asText());
            List<JsonNode> created = new ArrayList<>();
            for (int i = 0; i < 45; i++) {
                String tunnel = tunnels.get(i % 3);
                String settings = switch (i % 5) {
                    case 0 -> "";                                                    // no row: the defaults
                    case 1 -> ",\"health_check\":false";
                    case 2 -> ",\"health_path\":\"/health/" + i + "\"";
                    case 3 -> ",\"health_check\":false,\"health_path\":\"/off/" + i + "\"";
                    default -> ",\"health_check\":true";
                };
                String body = i % 4 == 3
                        ? "{\"type\":\"tcp\",\"listen_addr\":\"127.0.0.1:0\",\"target_addr\":\"localhost:" + (1000 + i)
                                + "\"" + settings.replaceAll(",\"health_path\":\"[^\"]*\"", "") + "}"
                        : "{\"type\":\"http\",\"domain\":\"s" + i + ".example.test\",\"target_addr\":\"localhost:1\""
                                + settings + "}";
                created.add(testbed.createService(tunnel, body));
            }

            JsonNode all = api.get("/api/services").json();
            assertThat(all).hasSize(created.size());
            for (int i = 0; i < created.size(); i++) {
                assertThat(all.get(i).toString()).as("service %d in the list of all", i).isEqualTo(created.get(i).toString());
                boolean http = created.get(i).get("type").asText().equals("http");
                boolean off = i % 5 == 1 || i % 5 == 3;
                assertThat(all.get(i).get("health_check").asBoolean()).as("health_check of %d", i).isEqualTo(!off);
                String path = !http ? null : i % 5 == 2 ? "/health/" + i : i % 5 == 3 ? "/off/" + i : "/";
                assertThat(all.get(i).get("health_path").isNull() ? null : all.get(i).get("health_path").asText())
                        .as("health_path of %d", i).isEqualTo(path);
            }
            for (int t = 0; t < tunnels.size(); t++) {
                JsonNode own = api.get("/api/tunnels/" + tunnels.get(t) + "/services").json();
                assertThat(own).hasSize(15);
                for (int k = 0; k < own.size(); k++) {
                    assertThat(own.get(k).toString()).as("service %d of tunnel %d", k, t)
                            .isEqualTo(created.get(t + 3 * k).toString());
                }
            }
        }
    }

    /**
     * The settings of more services than one query takes (500) at once: those at the edges of the batches are found,
     * and ids without a row (the defaults, or no such service) are left out.
     */
    @Test
    void settingsOfManyServicesAreReadBatchByBatch() throws Exception {
        try (Testbed testbed = quietServer()) {
            String tunnel = testbed.createTunnel("crowded").get("id").asText();
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 1100; i++) {
                ids.add("no-such-service-" + i);
            }
            List<Integer> placed = List.of(0, 499, 500, 501, 999, 1000, 1099);
            for (int at : placed) {
                Service service = testbed.server().store().createService(new Service(null, tunnel, ServiceType.HTTP,
                        "s" + at + ".example.test", "/", TlsMode.TERMINATE, null, "localhost:1", false, null)).orElseThrow();
                ids.set(at, service.id());
                if (at != 1000) {
                    testbed.server().checks().saveSettings(service.id(), new ServiceCheckSettings(at % 2 == 0, "/p" + at));
                }
            }

            Map<String, ServiceCheckSettings> settings = testbed.server().checks().settings(ids);

            assertThat(settings).hasSize(placed.size() - 1);
            for (int at : placed) {
                assertThat(settings.get(ids.get(at))).as("settings of the service at %d", at)
                        .isEqualTo(at == 1000 ? null : new ServiceCheckSettings(at % 2 == 0, "/p" + at));
            }
            assertThat(testbed.server().checks().settings(List.of())).isEmpty();
        }
    }

    /**
     * {@code GET /api/checks} for many tunnels (up to 100,000 checks) is streamed as the checks are read, a batch of
     * tunnels at a time, not built whole in memory, with the same checks, in the same order and form, as each tunnel's
     * own {@code /checks}.
     */
    @Test
    void theChecksOfManyTunnelsAreStreamedBatchByBatchAsEachTunnelsOwnAnswerHasThem() {
        try (Testbed testbed = quietServer()) {
            ApiClient api = testbed.api();
            int tunnels = 2 * CheckStore.TUNNELS_PER_BATCH + 7;
            List<String> ids = new ArrayList<>();
            List<Check> history = new ArrayList<>();
            Instant start = Instant.now().minus(Duration.ofHours(2));
            for (int t = 0; t < tunnels; t++) {
                String id = testbed.createTunnel("t" + t).get("id").asText();
                ids.add(id);
                for (int i = 0; i < (t % 10 == 9 ? 0 : 40); i++) { // every tenth tunnel without checks
                    history.add(i % 7 == 3 ? down(Subject.tunnel(id), start.plusSeconds(60L * i))
                            : up(Subject.tunnel(id), t * 1000L + i, start.plusSeconds(60L * i)));
                }
            }
            testbed.server().checks().record(history, List.of());

            ApiClient.Response answer = api.get("/api/checks?limit=30");

            assertThat(answer.status()).isEqualTo(200);
            assertThat(answer.header("Content-Type")).startsWith("application/json");
            List<JsonNode> expected = new ArrayList<>();
            for (String id : ids) {
                api.get("/api/tunnels/" + id + "/checks?limit=30").json().forEach(expected::add);
            }
            List<JsonNode> got = new ArrayList<>();
            answer.json().forEach(got::add);
            assertThat(got).hasSize(30 * (tunnels - tunnels / 10)).isEqualTo(expected);

            // The store hands them over a batch of tunnels at a time: what is in memory at once is bounded.
            List<Integer> batches = new ArrayList<>();
            List<Check> streamed = new ArrayList<>();
            testbed.server().checks().recentOfEachTunnel(ids, 100, batch -> {
                batches.add(batch.size());
                streamed.addAll(batch);
            });
            assertThat(batches).hasSize(3).allSatisfy(size ->
                    assertThat(size).isLessThanOrEqualTo(CheckStore.TUNNELS_PER_BATCH * 100));
            assertThat(streamed).hasSize(40 * (tunnels - tunnels / 10));
            assertThat(streamed.getFirst().subject().tunnelId()).isEqualTo(ids.getFirst());
            assertThat(streamed.getLast().subject().tunnelId()).isEqualTo(ids.get(tunnels - 1));

            assertThat(api.send("HEAD", "/api/checks", null, null).status()).isEqualTo(200);
        }
    }

    @Test
    void checksOlderThanTheRetentionArePruned() {
        Instant now = Instant.now();
        String id;
        try (Store store = Store.open(dataDir)) {
            Tunnel tunnel = store.createTunnel("old");
            id = tunnel.id();
            Subject subject = Subject.tunnel(id);
            new CheckStore(store.database()).record(List.of(
                    up(subject, 1, now.minus(Duration.ofDays(3))),
                    up(subject, 2, now.minus(Duration.ofHours(2))),
                    up(subject, 3, now.minus(Duration.ofMinutes(10)))), List.of());
        }
        try (Testbed testbed = new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1s",
                Setting.CHECK_RETENTION, "1h"))) {
            await().atMost(10, TimeUnit.SECONDS).until(() -> {
                JsonNode checks = testbed.checks(id, null, 1000);
                for (JsonNode check : checks) {
                    if (check.get("latency_ms").asLong() == 2) {
                        return false;
                    }
                }
                return true;
            });
            List<Long> seeded = new ArrayList<>();
            testbed.checks(id, null, 1000).forEach(check -> {
                if (Instant.parse(check.get("created_at").asText()).isBefore(now)) {
                    seeded.add(check.get("latency_ms").asLong());
                }
            });
            assertThat(seeded).containsExactly(3L);
        }
    }

    /**
     * The check settings of a service without an id (a draft, not stored) were guarded against the null id, its
     * traffic was not: Traffic.service threw a NullPointerException. No route shows such a service today; one that did
     * (a preview of a service before it is saved) would have answered 500.
     */
    @Test
    void aServiceNotStoredYetHasTheDefaultCheckSettingsAndNoTraffic() {
        try (Store store = Store.open(dataDir);
             Traffic traffic = new Traffic(store);
             Metrics metrics = new Metrics(new TunnelRegistry());
             EventLog events = new EventLog(store.database(), Clock.systemUTC())) {
            Tunnel tunnel = store.createTunnel("drafts");
            MonitorApi api = new MonitorApi(store, new CheckStore(store.database()), events, traffic, metrics, false,
                    Clock.systemUTC());
            Service draft = new Service(null, tunnel.id(), ServiceType.HTTP, "draft.example.test", "/", TlsMode.TERMINATE,
                    null, "127.0.0.1:9", true, null);

            ObjectNode one = JsonNodeFactory.instance.objectNode();
            api.serviceJson(draft, one);
            ObjectNode listed = JsonNodeFactory.instance.objectNode();
            api.servicesJson(List.of(draft), List.of(listed));

            for (ObjectNode json : List.of(one, listed)) {
                assertThat(json.get("health_check").asBoolean()).as("%s", json).isTrue();
                assertThat(json.get("health_path").asText()).as("%s", json).isEqualTo("/");
                assertThat(json.get("bytes_in").asLong()).as("%s", json).isZero();
                assertThat(json.get("total_connections").asLong()).as("%s", json).isZero();
                assertThat(json.get("requests").get("2xx").asLong()).as("%s", json).isZero();
            }
        }
    }
}
