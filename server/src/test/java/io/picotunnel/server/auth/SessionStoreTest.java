package io.picotunnel.server.auth;

import io.picotunnel.server.store.Database;
import io.picotunnel.testkit.ManualClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class SessionStoreTest {

    @TempDir
    Path dir;
    private Database db;
    private ManualClock clock;

    @BeforeEach
    void setUp() throws Exception {
        db = Database.open(dir.resolve("picotunnel.db"));
        clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));
    }

    @AfterEach
    void tearDown() {
        db.close();
    }

    private SessionStore store() {
        return new SessionStore(db, clock, Duration.ofHours(1), Duration.ofHours(24));
    }

    @Test
    void createdSessionIsFoundByItsId() {
        SessionStore store = store();
        String id = store.create("alice@example.com", "oidc", "id.token.value", "fingerprint");

        SessionStore.Session session = store.find(id).orElseThrow();
        assertThat(session.subject()).isEqualTo("alice@example.com");
        assertThat(session.method()).isEqualTo("oidc");
        assertThat(session.idToken()).isEqualTo("id.token.value");
        assertThat(id).hasSize(43).matches("[A-Za-z0-9_-]+");
    }

    @Test
    void sessionIdsAreRandomAndOnlyTheirHashIsStored() throws Exception {
        SessionStore store = store();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            ids.add(store.create("admin", "token", null, "fingerprint"));
        }
        assertThat(ids).doesNotHaveDuplicates();
        List<String> stored = db.inTransaction(c -> {
            List<String> hashes = new ArrayList<>();
            try (Statement s = c.createStatement(); ResultSet rows = s.executeQuery("SELECT id_hash FROM sessions")) {
                while (rows.next()) {
                    hashes.add(rows.getString(1));
                }
            }
            return hashes;
        });
        assertThat(stored).hasSize(20).allMatch(hash -> hash.length() == 64).doesNotContainAnyElementsOf(ids);
    }

    @Test
    void sessionSurvivesAReopenOfTheDatabase() {
        String id = store().create("admin", "token", null, "fingerprint");
        db.close();
        db = Database.open(dir.resolve("picotunnel.db"));
        assertThat(store().find(id)).isPresent();
    }

    @Test
    void unusedSessionEndsAfterTheIdleTimeout() {
        SessionStore store = store();
        String id = store.create("admin", "token", null, "fingerprint");
        clock.advance(Duration.ofMinutes(50));
        assertThat(store.find(id)).as("used within the idle timeout").isPresent();
        clock.advance(Duration.ofMinutes(50));
        assertThat(store.find(id)).as("50 minutes after the last use").isPresent();
        clock.advance(Duration.ofMinutes(61));
        assertThat(store.find(id)).as("61 minutes after the last use").isEmpty();
    }

    @Test
    void sessionEndsAtItsAbsoluteExpiryEvenWhenUsed() {
        SessionStore store = store();
        String id = store.create("admin", "token", null, "fingerprint");
        for (int i = 0; i < 24; i++) {
            clock.advance(Duration.ofMinutes(59));
            assertThat(store.find(id)).isPresent();
        }
        clock.advance(Duration.ofMinutes(30));
        assertThat(store.find(id)).as("24 h 6 min after sign-in, used 30 min ago").isEmpty();
    }

    @Test
    void deletedAndMalformedSessionsAreNotFound() {
        SessionStore store = store();
        String id = store.create("admin", "token", null, "fingerprint");
        store.delete(id);
        assertThat(store.find(id)).isEmpty();
        assertThat(store.find("")).isEmpty();
        assertThat(store.find("../../etc/passwd")).isEmpty();
        assertThat(store.find(null)).isEmpty();
    }

    @Test
    void deleteExpiredRemovesOnlyExpiredSessions() {
        SessionStore store = store();
        store.create("old", "token", null, "fingerprint");
        clock.advance(Duration.ofMinutes(61));
        String fresh = store.create("new", "token", null, "fingerprint");
        assertThat(store.deleteExpired()).isEqualTo(1);
        assertThat(store.find(fresh)).isPresent();
    }

    /**
     * The last use of a session is written at most once a minute; when it is due while another program (a sqlite3
     * shell) holds the database, the request must not wait SQLite's busy timeout (5 s) for it.
     */
    @Test
    void aSessionIsFoundWithoutWaitingWhileAnotherProgramHoldsTheDatabase() throws Exception {
        SessionStore store = store();
        String id = store.create("admin", "token", null, "fingerprint");
        clock.advance(Duration.ofMinutes(2));
        ExecutorService executor = Executors.newSingleThreadExecutor();
        try (Connection other = DriverManager.getConnection("jdbc:sqlite:" + db.file())) {
            try (Statement statement = other.createStatement()) {
                statement.execute("BEGIN IMMEDIATE");
                statement.executeUpdate("UPDATE sessions SET subject = subject");
            }
            Future<Optional<SessionStore.Session>> found = executor.submit(() -> store.find(id));
            await().atMost(Duration.ofSeconds(2)).until(found::isDone);
            assertThat(found.get()).isPresent();
        } finally {
            executor.shutdownNow();
        }
    }
}
