package io.picotunnel.server.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.events.Event;
import io.picotunnel.server.events.EventLog;
import io.picotunnel.server.store.Store;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.testkit.ManualClock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The events list: what the API, the tcp listeners and the tunnel endpoint record, newest first. */
class EventsTest {

    @TempDir
    Path dataDir;

    /**
     * An event's created_at is the clock's: set back an hour after two events, it gives the third an earlier time than
     * theirs. The list still has the last recorded first, and the newest two are the last two recorded.
     */
    @Test
    void theLastRecordedEventsComeFirstWhenTheClockStepsBack() {
        ManualClock clock = new ManualClock(Instant.parse("2026-06-01T12:00:00Z"));
        try (Store store = Store.open(dataDir); EventLog events = new EventLog(store.database(), clock)) {
            events.record(EventLog.TOKEN_REGENERATED, null, null, "first");
            clock.advance(Duration.ofSeconds(1));
            events.record(EventLog.TOKEN_REGENERATED, null, null, "second");
            clock.advance(Duration.ofHours(-1));
            events.record(EventLog.TOKEN_REGENERATED, null, null, "third");
            events.flush();

            assertThat(events.recent(null, 10)).extracting(Event::message).containsExactly("third", "second", "first");
            assertThat(events.recent(null, 2)).extracting(Event::message).containsExactly("third", "second");
            assertThat(events.recent(null, 1).getFirst().createdAt()).isEqualTo(Instant.parse("2026-06-01T11:00:01Z"));
        }
    }

    @Test
    void regeneratingATokenIsAnEventOfItsTunnelAndDropsTheClient() {
        try (Testbed testbed = new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1h"))) {
            String id = testbed.createConnectedTunnel("rotated");
            String other = testbed.createTunnel("other").get("id").asText();

            assertThat(testbed.api().post("/api/tunnels/" + id + "/regenerate", "").status()).isEqualTo(200);

            await().atMost(10, TimeUnit.SECONDS).until(() -> testbed.api().get("/api/tunnels/" + id + "/events").json().size() == 3);
            JsonNode events = testbed.api().get("/api/tunnels/" + id + "/events").json();
            assertThat(events).extracting(e -> e.get("type").asText())
                    .containsExactlyInAnyOrder("client_connected", "token_regenerated", "client_left");
            assertThat(events.get(2).get("type").asText()).isEqualTo("client_connected");
            assertThat(events.get(2).get("message").asText()).contains("connected from 127.0.0.1:").contains("version ");
            JsonNode client = events.get(2).get("client");
            assertThat(client.get("id").asText()).isNotEmpty();
            assertThat(client.get("remote_addr").asText()).startsWith("127.0.0.1:");
            assertThat(events.get(2).get("message").asText()).startsWith("Client " + client.get("id").asText()
                    + " connected from " + client.get("remote_addr").asText() + " (version "
                    + client.get("version").asText("unknown") + ", host " + client.get("hostname").asText("unknown") + ")");
            assertThat(client.has("version")).isTrue();
            assertThat(client.has("hostname")).isTrue();
            assertThat(events).filteredOn(e -> e.get("type").asText().equals("token_regenerated"))
                    .allMatch(e -> !e.has("client"));
            assertThat(events.get(0).get("tunnel_id").asText()).isEqualTo(id);
            assertThat(testbed.api().get("/api/tunnels/" + other + "/events").json()).isEmpty();
            assertThat(testbed.api().get("/api/events?limit=2").json()).hasSize(2);
            assertThat(testbed.api().get("/api/events").json()).hasSize(3);
        }
    }

    @Test
    @SuppressWarnings("try") // the port is freed halfway through, then taken again by another socket
    void aTcpServiceThatCannotListenIsAnEventNowAndAfterARestart() throws IOException {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            int port = taken.getLocalPort();
            try (Testbed testbed = new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1h"))) {
                String id = testbed.createTunnel("busy").get("id").asText();
                ApiClient.Response refused = testbed.api().post("/api/tunnels/" + id + "/services",
                        "{\"type\":\"tcp\",\"listen_addr\":\"127.0.0.1:" + port + "\",\"target_addr\":\"localhost:22\"}");
                assertThat(refused.status()).isEqualTo(409);
                await().atMost(10, TimeUnit.SECONDS).until(() -> testbed.api().get("/api/events").json().size() == 1);
                JsonNode event = testbed.api().get("/api/events").json().get(0);
                assertThat(event.get("type").asText()).isEqualTo("service_listen_failed");
                assertThat(event.get("tunnel_id").asText()).isEqualTo(id);
                assertThat(event.get("message").asText()).startsWith("Service 127.0.0.1:" + port + " could not listen: cannot listen on");

                // Stored while the port was free, taken while the server was stopped: the next start says so.
                taken.close();
                String serviceId = testbed.createService(id, "{\"type\":\"tcp\",\"listen_addr\":\"127.0.0.1:" + port
                        + "\",\"target_addr\":\"localhost:22\"}").get("id").asText();
                try (ServerSocket again = new ServerSocket()) {
                    testbed.server().stop();
                    again.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
                    testbed.restart();
                    await().atMost(10, TimeUnit.SECONDS).until(() -> testbed.api().get("/api/events").json().size() == 2);
                    JsonNode atStart = testbed.api().get("/api/events").json().get(0);
                    assertThat(atStart.get("type").asText()).isEqualTo("service_listen_failed");
                    assertThat(atStart.get("service_id").asText()).isEqualTo(serviceId);
                }
            }
        }
    }
}
