package io.picotunnel.server.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.store.Store;
import io.picotunnel.server.testbed.Testbed;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A webhook receiver that asks the checks API as soon as an alert arrives sees the check that confirmed it. A real
 * server on a real SQLite file, a tunnel with no client (down every round) that was up before, and a real receiver on
 * loopback; another connection (a {@code sqlite3} shell) holds the database's write lock while the confirming check
 * is taken, so that storing it waits.
 */
class AlertAfterStoreTest {

    private static final int ALERT_AFTER = 2;

    @TempDir
    Path dataDir;

    /** Every alert received, with the down checks the API listed when it arrived. */
    private record Received(JsonNode alert, long downChecksListed) {
    }

    @Test
    void theCheckThatConfirmsAnAlertIsStoredBeforeTheWebhookIsTold() throws Exception {
        AtomicReference<Testbed> testbed = new AtomicReference<>();
        List<Received> received = new CopyOnWriteArrayList<>();
        HttpServer receiver = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        receiver.createContext("/hook", exchange -> {
            JsonNode alert = new com.fasterxml.jackson.databind.ObjectMapper().readTree(exchange.getRequestBody());
            JsonNode listed = testbed.get().checks(alert.get("tunnel_id").asText(), null, 100);
            long down = 0;
            for (JsonNode check : listed) {
                down += check.get("status").asText().equals("down") ? 1 : 0;
            }
            received.add(new Received(alert, down));
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        receiver.start();
        String id = seedConfirmedUpTunnel();
        try (Testbed server = new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "2s",
                Setting.ALERT_AFTER, String.valueOf(ALERT_AFTER),
                Setting.WEBHOOK_URL, "http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook"))) {
            testbed.set(server);
            await().atMost(10, TimeUnit.SECONDS).until(() -> downChecks(server, id) >= ALERT_AFTER - 1);

            try (Connection other = DriverManager.getConnection("jdbc:sqlite:" + dataDir.resolve(Store.DATABASE_FILE));
                 Statement statement = other.createStatement()) {
                statement.execute("BEGIN IMMEDIATE");
                statement.executeUpdate("UPDATE tunnels SET name = name");
                // Rounds 2 s apart: the next one comes while the lock is held, as long as the lookup above took under
                // 2 s, and waits less than the store's busy timeout (5 s): its check waits, then is stored.
                await("no alert while its check waits to be stored").during(Duration.ofMillis(3_500))
                        .atMost(5, TimeUnit.SECONDS)
                        .until(() -> received.isEmpty());
                statement.execute("COMMIT");
            }
            await().atMost(10, TimeUnit.SECONDS).until(() -> !received.isEmpty());
            Received first = received.getFirst();
            assertThat(first.alert().get("status").asText()).isEqualTo("down");
            assertThat(first.downChecksListed()).as("down checks the API listed when the alert arrived")
                    .isGreaterThanOrEqualTo(ALERT_AFTER);
        } finally {
            receiver.stop(0);
        }
    }

    /**
     * A tunnel with {@code ALERT_AFTER} up checks a minute apart, ending a minute ago, the first a change of state,
     * stored by a server whose first round (an hour after its start) never comes: the server under test starts with
     * the tunnel up, whenever its own first round runs. Its id.
     */
    private String seedConfirmedUpTunnel() {
        try (Testbed seeding = new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1h"))) {
            String id = seeding.createTunnel("locked-out").get("id").asText();
            seedConfirmedUp(seeding, Subject.tunnel(id));
            return id;
        }
    }

    private static void seedConfirmedUp(Testbed server, Subject tunnel) {
        Instant from = Instant.now().minus(Duration.ofMinutes(ALERT_AFTER + 1));
        List<Check> ups = new ArrayList<>();
        for (int i = 0; i < ALERT_AFTER; i++) {
            ups.add(Check.up(tunnel, 3, from.plus(Duration.ofMinutes(i))));
        }
        server.server().checks().record(ups, ups.subList(0, 1));
    }

    private static long downChecks(Testbed server, String id) {
        long down = 0;
        for (JsonNode check : server.checks(id, null, 100)) {
            down += check.get("status").asText().equals("down") ? 1 : 0;
        }
        return down;
    }
}
