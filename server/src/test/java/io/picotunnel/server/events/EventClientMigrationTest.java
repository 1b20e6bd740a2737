package io.picotunnel.server.events;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.auth.Secrets;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.store.OldSchema;
import io.picotunnel.server.testbed.Testbed;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Migration V46: the events stored before it keep their messages and have no client fields, so the API answers them
 * without {@code client} and the tunnel's page reads a client's version and host out of the message, as before; a
 * client's events recorded after it have the fields.
 */
class EventClientMigrationTest {

    private static final int CLIENT_FIELDS_VERSION = 46;
    private static final String TUNNEL = "00000000000000d1";
    private static final String CONNECTED = "Client 0a1b connected from 127.0.0.1:5123 (version 1.4.2, host build-box)";
    private static final String LEFT = "Client 0a1b from 127.0.0.1:5123 (version 1.4.2) left";
    private static final String SILENT = "Client 0c2d connected from [::1]:5124 (version unknown, host unknown)";
    private static final String REGENERATED = "Token of tunnel home regenerated";

    @TempDir
    Path dataDir;

    @Test
    void eventsFromBeforeHaveNoClientAndAreReadFromTheirMessageAndNewOnesHaveIt() throws Exception {
        String token = Secrets.newToken();
        OldSchema.write(dataDir, CLIENT_FIELDS_VERSION, c -> {
            OldSchema.tunnel(c, TUNNEL, "home", Secrets.sha256Hex(token));
            event(c, EventLog.CLIENT_CONNECTED, CONNECTED, "12:00");
            event(c, EventLog.CLIENT_LEFT, LEFT, "12:05");
            event(c, EventLog.CLIENT_CONNECTED, SILENT, "12:06");
            event(c, EventLog.TOKEN_REGENERATED, REGENERATED, "12:07");
        });

        try (Testbed testbed = new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1h"))) {
            JsonNode before = testbed.api().get("/api/tunnels/" + TUNNEL + "/events").json();
            assertThat(before).extracting(e -> e.get("message").asText())
                    .containsExactly(REGENERATED, SILENT, LEFT, CONNECTED);
            assertThat(before).allSatisfy(e -> assertThat(e.has("client")).as("client in %s", e).isFalse());
            Pattern clientSays = EventLogTest.clientSays();
            EventLogTest.assertSays(clientSays, CONNECTED, "1.4.2", "build-box");
            EventLogTest.assertSays(clientSays, LEFT, "1.4.2", null);
            EventLogTest.assertSays(clientSays, SILENT, "unknown", "unknown");

            testbed.connect(TUNNEL, token);

            await().atMost(10, TimeUnit.SECONDS)
                    .until(() -> testbed.api().get("/api/tunnels/" + TUNNEL + "/events").json().size() == 5);
            JsonNode after = testbed.api().get("/api/tunnels/" + TUNNEL + "/events").json();
            JsonNode connected = after.get(0);
            assertThat(connected.get("type").asText()).isEqualTo(EventLog.CLIENT_CONNECTED);
            JsonNode client = connected.get("client");
            assertThat(client).as("client in %s", connected).isNotNull();
            assertThat(client.get("id").asText()).isNotEmpty();
            assertThat(client.get("remote_addr").asText()).startsWith("127.0.0.1:");
            assertThat(connected.get("message").asText()).startsWith("Client " + client.get("id").asText()
                    + " connected from " + client.get("remote_addr").asText() + " (version ");
            assertThat(after).extracting(e -> e.get("message").asText()).endsWith(REGENERATED, SILENT, LEFT, CONNECTED);
            assertThat(after).filteredOn(e -> e != connected)
                    .allSatisfy(e -> assertThat(e.has("client")).as("client in %s", e).isFalse());
        }
    }

    /** An event of {@link #TUNNEL} as the schema before V46 stored it: no client fields. */
    private static void event(Connection c, String type, String message, String time) throws SQLException {
        try (PreparedStatement insert = c.prepareStatement("INSERT INTO events (tunnel_id, type, message, created_at)"
                + " VALUES (?, ?, ?, ?)")) {
            insert.setString(1, TUNNEL);
            insert.setString(2, type);
            insert.setString(3, message);
            insert.setLong(4, Instant.parse("2026-06-01T" + time + ":00Z").toEpochMilli());
            insert.executeUpdate();
        }
    }
}
