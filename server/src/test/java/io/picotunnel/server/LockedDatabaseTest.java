package io.picotunnel.server;

import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.store.HeldReads;
import io.picotunnel.server.store.Store;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The database file written by another connection (an operator's {@code sqlite3} shell, say) while the server runs:
 * a real server on loopback, the other connection a plain JDBC one on the same file.
 */
class LockedDatabaseTest {

    @TempDir
    Path dataDir;

    private PicoTunnelServer server;
    private ApiClient api;

    @BeforeEach
    void start() {
        server = PicoTunnelServer.start(ServerConfig.ephemeral(dataDir), new PrintStream(OutputStream.nullOutputStream()));
        api = new ApiClient(server.apiPort(), server.adminToken());
    }

    @AfterEach
    void stop() {
        api.close();
        server.close();
    }

    private Connection otherWriter() throws SQLException {
        Connection other = DriverManager.getConnection("jdbc:sqlite:" + dataDir.resolve(Store.DATABASE_FILE));
        try (Statement statement = other.createStatement()) {
            statement.execute("BEGIN IMMEDIATE");
            statement.executeUpdate("UPDATE tunnels SET name = name");
        }
        return other;
    }

    /**
     * Sends the requests at once, each on a thread of its own that waits for the others at a barrier (the common
     * pool may have fewer threads than requests and would send them in turn), and returns their answers in order.
     */
    private static List<ApiClient.Response> together(List<Supplier<ApiClient.Response>> requests) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(requests.size());
        try {
            CyclicBarrier start = new CyclicBarrier(requests.size());
            List<Future<ApiClient.Response>> answers = new ArrayList<>();
            for (Supplier<ApiClient.Response> request : requests) {
                answers.add(pool.submit(() -> {
                    start.await(10, TimeUnit.SECONDS);
                    return request.get();
                }));
            }
            List<ApiClient.Response> responses = new ArrayList<>();
            for (Future<ApiClient.Response> answer : answers) {
                responses.add(answer.get(30, TimeUnit.SECONDS));
            }
            return responses;
        } finally {
            pool.shutdownNow();
        }
    }

    private static void commit(Connection other) throws SQLException {
        try (Statement statement = other.createStatement()) {
            statement.execute("COMMIT");
        }
    }

    /**
     * A change that reads before it writes (a service: its tunnel and the conflicts first) waits for another
     * writer's transaction as a plain insert does, up to the busy timeout. Begun deferred, the transaction holds a
     * read snapshot when it asks for the write lock, and SQLite then answers SQLITE_BUSY at once, without waiting.
     */
    @Test
    void aChangeThatReadsFirstWaitsForAnotherWritersShortTransaction() throws Exception {
        String tunnel = api.post("/api/tunnels", "{\"name\": \"t\"}").json().get("id").asText();
        try (Connection other = otherWriter()) {
            CompletableFuture<ApiClient.Response> created = CompletableFuture.supplyAsync(() ->
                    api.post("/api/tunnels/" + tunnel + "/services",
                            "{\"type\": \"http\", \"domain\": \"app.example.com\", \"target_addr\": \"localhost:3000\"}"));
            await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).untilAsserted(() ->
                    assertThat(created.getNow(null)).as("answered while the other writer held the lock").isNull());
            commit(other);
            ApiClient.Response response = created.get(15, TimeUnit.SECONDS);
            assertThat(response.status()).as("%s", response).isEqualTo(201);
        }
        assertThat(api.get("/api/tunnels/" + tunnel + "/services").json()).hasSize(1);
    }

    /**
     * Locked for longer than the busy timeout, a change is refused with a 503 that says why and when to try again
     * (not a 500 "see the log"); nothing is stored, and once the other writer lets go the same change works.
     */
    @Test
    void aChangeWhileAnotherWriterHoldsTheLockPastTheBusyTimeoutIsA503ThenWorksOnceItLetsGo() throws Exception {
        try (Connection other = otherWriter()) {
            ApiClient.Response refused = api.post("/api/tunnels", "{\"name\": \"t\"}");
            assertThat(refused.status()).as("%s", refused).isEqualTo(503);
            assertThat(refused.header("Retry-After")).isEqualTo("5");
            assertThat(refused.json().get("error").asText()).isEqualTo("database_busy");
            assertThat(refused.json().get("message").asText()).contains("locked by another program");
            commit(other);
        }
        assertThat(api.get("/api/tunnels").json()).isEmpty();
        assertThat(api.post("/api/tunnels", "{\"name\": \"t\"}").status()).isEqualTo(201);
    }

    /**
     * A long transaction of the server itself (pruning old checks) also makes a change wait past the busy timeout:
     * the 503 says that it may be this server, not only another program.
     */
    @Test
    void aChangeWhileALongTaskOfThisServerHoldsTheDatabaseIsA503ThatSaysSo() throws Exception {
        CountDownLatch holding = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        ExecutorService task = Executors.newSingleThreadExecutor();
        try {
            Future<?> longTask = task.submit(() -> server.store().database().inTransaction(connection -> {
                holding.countDown();
                return release.await(30, TimeUnit.SECONDS);
            }));
            assertThat(holding.await(10, TimeUnit.SECONDS)).isTrue();
            ApiClient.Response refused = api.post("/api/tunnels", "{\"name\": \"t\"}");
            assertThat(refused.status()).as("%s", refused).isEqualTo(503);
            assertThat(refused.json().get("message").asText()).contains("a long task of this server");
            release.countDown();
            longTask.get(10, TimeUnit.SECONDS);
        } finally {
            release.countDown();
            task.shutdownNow();
        }
    }

    /**
     * Long reads of the server (listings, exports) holding every read connection past the wait of a read: a listing is
     * refused with a 503 that says so, not one that blames a lock of another program or a long task; once a read ends
     * the same listing works.
     */
    @Test
    void aListingWhileOtherReadsHoldEveryReadConnectionIsA503ThatSaysSo() throws Exception {
        try (HeldReads longReads = HeldReads.ofEveryConnection(server.store().database())) {
            ApiClient.Response refused = api.get("/api/tunnels");

            assertThat(refused.status()).as("%s", refused).isEqualTo(503);
            assertThat(refused.header("Retry-After")).isEqualTo("5");
            assertThat(refused.json().get("error").asText()).isEqualTo("database_busy");
            // Before: "the database is busy (locked by another program such as a sqlite3 shell in a transaction, or by
            // a long task of this server such as pruning old checks)", neither of which held it.
            assertThat(refused.json().get("message").asText()).isEqualTo("the database is busy (all 4 of the server's"
                    + " read connections were held by other reads, such as long listings or exports, for 5 s); nothing"
                    + " was changed; try again once they end");
            longReads.release();
            longReads.ended().get(10, TimeUnit.SECONDS);
            assertThat(api.get("/api/tunnels").status()).isEqualTo(200);
        }
    }

    /**
     * Changes that come together while another program holds the database are each answered within the busy
     * timeout, not one busy timeout after the other: the fourth would otherwise wait 20 s, past the client's 10 s.
     */
    @Test
    void changesThatComeTogetherWhileTheDatabaseIsLockedAreEachAnsweredWithinTheBusyTimeout() throws Exception {
        List<String> tunnels = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            tunnels.add(api.post("/api/tunnels", "{\"name\": \"t" + i + "\"}").json().get("id").asText());
        }
        try (Connection other = otherWriter()) {
            List<Supplier<ApiClient.Response>> requests = new ArrayList<>();
            for (String tunnel : tunnels) {
                requests.add(() -> api.patch("/api/tunnels/" + tunnel, "{\"name\": \"renamed\"}"));
            }
            for (ApiClient.Response response : together(requests)) {
                assertThat(response.status()).as("%s", response).isEqualTo(503);
            }
            commit(other);
        }
        assertThat(api.get("/api/tunnels").json()).extracting(tunnel -> tunnel.get("name").asText())
                .containsExactly("t0", "t1", "t2", "t3");
    }

    /**
     * Creations that come together while the database is locked are each answered within the busy timeout too: they
     * no longer wait in turn on the routes' own lock (which kept the count of tunnels and the insert together).
     */
    @Test
    void creationsThatComeTogetherWhileTheDatabaseIsLockedAreEachAnsweredWithinTheBusyTimeout() throws Exception {
        String tunnel = api.post("/api/tunnels", "{\"name\": \"t\"}").json().get("id").asText();
        try (Connection other = otherWriter()) {
            List<Supplier<ApiClient.Response>> requests = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                String name = "new" + i;
                requests.add(() -> api.post("/api/tunnels", "{\"name\": \"" + name + "\"}"));
                requests.add(() -> api.post("/api/tunnels/" + tunnel + "/services",
                        "{\"type\": \"http\", \"domain\": \"" + name + ".example.com\", \"target_addr\": \"localhost:3000\"}"));
            }
            for (ApiClient.Response response : together(requests)) {
                assertThat(response.status()).as("%s", response).isEqualTo(503);
            }
            commit(other);
        }
        assertThat(api.get("/api/tunnels").json()).hasSize(1);
        assertThat(api.get("/api/tunnels/" + tunnel + "/services").json()).isEmpty();
    }
}
