package io.picotunnel.server.e2e;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.server.proxy.http.HttpRoutes;
import io.picotunnel.server.store.Store;
import io.picotunnel.server.testbed.Testbed;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A path_prefix stored as typed before the API percent-encoded it ({@code /{id}}) is read as its encoding
 * ({@code /%7Bid%7D}), so it and a service created since with the encoded spelling, for one domain, are one route:
 * the server says so at start, serves the older, and the API refuses to make such a pair.
 */
class CoincidingPrefixesTest {

    private static final String HOST = "app.test";
    private static final String OLD_ID = "00000000000000bb";

    @TempDir
    Path dataDir;

    private Testbed testbed;
    private String tunnelId;
    private String token;
    private final RecordingTarget oldTarget = new RecordingTarget("old");
    private final RecordingTarget newTarget = new RecordingTarget("new");

    @AfterEach
    void stop() {
        if (testbed != null) {
            testbed.close();
        }
        oldTarget.close();
        newTarget.close();
    }

    /** A server with a tunnel, stopped, so that rows can be written as an older version left them. */
    private void tunnelOfAStoppedServer() {
        testbed = new Testbed(dataDir);
        JsonNode tunnel = testbed.createTunnel("t");
        tunnelId = tunnel.get("id").asText();
        token = tunnel.get("token").asText();
    }

    private String service(String prefix, RecordingTarget target) {
        return testbed.createService(tunnelId, "{\"type\":\"http\",\"domain\":\"" + HOST + "\",\"path_prefix\":\"" + prefix
                + "\",\"target_addr\":\"" + target.address() + "\"}").get("id").asText();
    }

    /**
     * The row a server before the API percent-encoded prefixes wrote for {@code /{id}}: raw, and older (stored before
     * the other services: a rowid below theirs).
     */
    private void insertOldRawService(String prefix) throws Exception {
        testbed.close();
        testbed = null;
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dataDir.resolve(Store.DATABASE_FILE));
             PreparedStatement insert = c.prepareStatement("INSERT INTO services (rowid, id, tunnel_id, type, domain,"
                     + " path_prefix, target_addr, created_at) VALUES ((SELECT min(rowid) - 1 FROM services), ?, ?, 'http',"
                     + " ?, ?, ?, '2025-06-01T00:00:00.000Z')")) {
            insert.setString(1, OLD_ID);
            insert.setString(2, tunnelId);
            insert.setString(3, HOST);
            insert.setString(4, prefix);
            insert.setString(5, oldTarget.address());
            insert.executeUpdate();
        }
    }

    @Test
    void anOldRawPrefixAndANewEncodedOneAreWarnedOfOnceAtStartAndTheOlderIsServed() throws Exception {
        tunnelOfAStoppedServer();
        String newId = service("/%7Bid%7D", newTarget);
        insertOldRawService("/{id}");

        List<String> warnings;
        try (LogCapture log = new LogCapture(HttpRoutes.class, null)) {
            testbed = new Testbed(dataDir);
            warnings = log.messages(Level.WARN);
            assertThat(warnings).singleElement().satisfies(m -> assertThat(m)
                    .contains("Services " + OLD_ID + " (path_prefix /{id}) and " + newId + " (path_prefix /%7Bid%7D)")
                    .contains("of domain " + HOST + " are one route, /%7Bid%7D,")
                    .contains("service " + OLD_ID + ", the older, gets all its requests and service " + newId + " none"));

            // Every change rebuilds the routes; the pair is not said again.
            ApiClient.Response patched = testbed.api().patch("/api/services/" + newId,
                    "{\"target_addr\":\"" + newTarget.address() + "\",\"enabled\":true}");
            assertThat(patched.status()).as(patched.toString()).isEqualTo(200);
            service("/other", newTarget);
            // The older stays editable: a change through the API stores its prefix encoded, the same route.
            ApiClient.Response old = testbed.api().patch("/api/services/" + OLD_ID,
                    "{\"target_addr\":\"" + oldTarget.address() + "\"}");
            assertThat(old.status()).as(old.toString()).isEqualTo(200);
            assertThat(old.json().get("path_prefix").asText()).isEqualTo("/%7Bid%7D");
            assertThat(log.messages(Level.WARN)).isEqualTo(warnings);
        }

        testbed.connect(tunnelId, token);
        Visitor visitor = new Visitor("127.0.0.1");
        for (String path : List.of("/%7Bid%7D/x", "/{id}/x", "/%7bid%7d")) {
            Visitor.Response answer = visitor.get(testbed.server().httpPort(), HOST, path);
            assertThat(answer.body()).as(path).isEqualTo("old");
        }
        assertThat(newTarget.requestCount()).isZero();
    }

    @Test
    void theApiRefusesAPrefixThatIsTheSameRouteAsAnOldRawOneWithA409() throws Exception {
        tunnelOfAStoppedServer();
        String other = service("/other", newTarget);
        insertOldRawService("/{id}");
        testbed = new Testbed(dataDir);

        for (String prefix : List.of("/%7Bid%7D", "/{id}", "/%7bid%7d/")) {
            ApiClient.Response created = testbed.api().post("/api/tunnels/" + tunnelId + "/services",
                    "{\"type\":\"http\",\"domain\":\"" + HOST + "\",\"path_prefix\":\"" + prefix + "\",\"target_addr\":\""
                            + newTarget.address() + "\"}");
            assertConflictWithOld(created, prefix);
        }
        ApiClient.Response patched = testbed.api().patch("/api/services/" + other, "{\"path_prefix\":\"/%7Bid%7D\"}");
        assertConflictWithOld(patched, "patch");
        assertThat(testbed.api().get("/api/tunnels/" + tunnelId + "/services").json()).hasSize(2);
    }

    private static void assertConflictWithOld(ApiClient.Response response, String what) {
        assertThat(response.status()).as(what + ": " + response).isEqualTo(409);
        assertThat(response.json().get("error").asText()).isEqualTo("conflict");
        assertThat(response.json().get("message").asText()).as(what)
                .contains("is already used by service " + OLD_ID)
                .contains("(its path_prefix /{id} routes the same requests)");
    }
}
