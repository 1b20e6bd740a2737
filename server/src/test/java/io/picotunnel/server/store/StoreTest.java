package io.picotunnel.server.store;

import ch.qos.logback.classic.Level;
import io.picotunnel.server.RecordingListener;
import io.picotunnel.server.auth.Secrets;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.ManualClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class StoreTest {

    @TempDir
    Path dataDir;
    Store store;

    @BeforeEach
    void open() {
        store = Store.open(dataDir);
    }

    @AfterEach
    void close() {
        store.close();
    }

    private Service tcp(String tunnelId, String listen) throws ServiceConflictException {
        return store.createService(new Service(null, tunnelId, ServiceType.TCP, null, "/", TlsMode.TERMINATE, listen,
                "localhost:22", true, null)).orElseThrow();
    }

    @Test
    void tcpServicesOnOneIpv6AddressSpelledTwoWaysConflictEvenWhenDisabled() throws ServiceConflictException {
        Tunnel tunnel = store.createTunnel("v6");
        Service disabled = store.createService(new Service(null, tunnel.id(), ServiceType.TCP, null, "/", TlsMode.TERMINATE,
                "[::1]:2222", "localhost:22", false, null)).orElseThrow();

        assertThatThrownBy(() -> tcp(tunnel.id(), "[0:0:0:0:0:0:0:1]:2222")).isInstanceOf(ServiceConflictException.class)
                .hasMessageContaining("of service " + disabled.id());
        assertThatThrownBy(() -> tcp(tunnel.id(), "[::0]:2222")).isInstanceOf(ServiceConflictException.class)
                .hasMessageContaining("of service " + disabled.id());
    }

    private List<String> query(String sql) {
        return store.database().inTransaction(connection -> {
            List<String> rows = new ArrayList<>();
            try (Statement statement = connection.createStatement(); ResultSet result = statement.executeQuery(sql)) {
                while (result.next()) {
                    rows.add(result.getString(1));
                }
            }
            return rows;
        });
    }

    /**
     * created_at is the wall clock's: stepped back an hour (NTP, a VM resumed) between two creations, it makes the newer
     * item the older by its time. Lists keep the order the items were created in all the same.
     */
    @Test
    void listsKeepTheOrderOfCreationWhenTheClockStepsBack() throws Exception {
        ManualClock clock = new ManualClock(Instant.parse("2026-06-01T12:00:00Z"));
        Path other = Files.createDirectories(dataDir.resolve("stepped"));
        try (Store stepped = Store.open(other, clock)) {
            Tunnel first = stepped.createTunnel("first");
            Service firstService = stepped.createService(new Service(null, first.id(), ServiceType.TCP, null, "/",
                    TlsMode.TERMINATE, ":4001", "localhost:22", true, null)).orElseThrow();
            clock.advance(Duration.ofHours(-1));
            Tunnel second = stepped.createTunnel("second");
            Service secondService = stepped.createService(new Service(null, first.id(), ServiceType.TCP, null, "/",
                    TlsMode.TERMINATE, ":4002", "localhost:22", true, null)).orElseThrow();
            assertThat(second.createdAt()).as("the clock's word").isEqualTo(Instant.parse("2026-06-01T11:00:00Z"))
                    .isBefore(first.createdAt());
            assertThat(secondService.createdAt()).isBefore(firstService.createdAt());

            assertThat(stepped.tunnels()).extracting(Tunnel::name).containsExactly("first", "second");
            assertThat(stepped.services(first.id())).extracting(Service::id)
                    .containsExactly(firstService.id(), secondService.id());
            assertThat(stepped.services()).extracting(Service::id).containsExactly(firstService.id(), secondService.id());

            stepped.deleteTunnel(second.id());
            Tunnel third = stepped.createTunnel("third");
            assertThat(stepped.tunnels()).as("a rowid given again after a delete still comes last")
                    .extracting(Tunnel::name).containsExactly("first", "third");
            assertThat(third.createdAt()).isBefore(first.createdAt());
        }
    }

    @Test
    void migrationsAreRecordedOnceAndReopeningAppliesNothingTwice() {
        store.createTunnel("kept");
        store.close();
        store = Store.open(dataDir);
        store.close();
        store = Store.open(dataDir);

        assertThat(query("SELECT version FROM schema_version ORDER BY version"))
                .containsExactlyElementsOf(Migrations.available().stream().map(m -> String.valueOf(m.version())).toList());
        assertThat(query("SELECT version FROM schema_version")).contains("1");
        assertThat(store.tunnels()).extracting(Tunnel::name).containsExactly("kept");
    }

    @Test
    void aDatabaseFromANewerVersionIsRefused() throws IOException {
        store.database().inTransaction(connection -> {
            try (Statement statement = connection.createStatement()) {
                statement.executeUpdate("INSERT INTO schema_version VALUES (9999, 'future', '2099-01-01T00:00:00.000Z')");
            }
            return null;
        });
        store.close();

        assertThatThrownBy(() -> Store.open(dataDir)).isInstanceOf(StoreException.class)
                .hasMessageContaining("schema version 9999").hasMessageContaining("newer")
                .satisfies(e -> assertThat(((StoreException) e).unusable()).as("no use trying again").isTrue());
        store = Store.open(Files.createDirectories(dataDir.resolve("other")));
    }

    @Test
    void databaseUsesWalAndForeignKeys() {
        assertThat(query("PRAGMA journal_mode")).containsExactly("wal");
        assertThat(query("PRAGMA synchronous")).as("FULL").containsExactly("2");
        assertThat(query("PRAGMA secure_delete")).containsExactly("1");
        assertThat(query("PRAGMA foreign_keys")).containsExactly("1");
        assertThat(Integer.parseInt(query("PRAGMA busy_timeout").getFirst())).isPositive();
    }

    @Test
    void migrationStatementsAreSplitAtLineEndSemicolonsSkippingComments() {
        assertThat(Migrations.statements("-- comment\nCREATE TABLE a (x TEXT DEFAULT 'a;b');\n\nCREATE INDEX i ON a (x);\n"))
                .containsExactly("CREATE TABLE a (x TEXT DEFAULT 'a;b');", "CREATE INDEX i ON a (x);");
    }

    @Test
    void tunnelIsFoundByItsExactTokenOnly() {
        Tunnel tunnel = store.createTunnel("t");

        assertThat(store.findTunnelByToken(tunnel.token())).contains(tunnel.withoutToken());
        assertThat(store.findTunnelByToken(tunnel.token().toUpperCase())).isEmpty();
        assertThat(store.findTunnelByToken(tunnel.token().substring(1))).isEmpty();
        assertThat(store.findTunnelByToken("")).isEmpty();
        assertThat(store.findTunnelByToken(null)).isEmpty();
        assertThat(query("SELECT token_sha256 FROM tunnels")).containsExactly(
                io.picotunnel.server.auth.Secrets.sha256Hex(tunnel.token()));
    }

    @Test
    void theTokenIsReturnedOnlyAtCreationAndNeverStoredInPlain() throws IOException {
        Tunnel tunnel = store.createTunnel("t");

        assertThat(tunnel.token()).matches("[0-9a-f]{64}");
        assertThat(store.tunnel(tunnel.id()).orElseThrow().token()).isNull();
        assertThat(store.tunnels()).extracting(Tunnel::token).containsOnlyNulls();
        assertThat(query("SELECT name FROM pragma_table_info('tunnels')")).doesNotContain("token").contains("token_sha256");
        store.close();
        for (Path file : List.of(dataDir.resolve(Store.DATABASE_FILE), dataDir.resolve(Store.DATABASE_FILE + "-wal"))) {
            if (Files.exists(file)) {
                assertThat(new String(Files.readAllBytes(file), java.nio.charset.StandardCharsets.ISO_8859_1))
                        .as("the plain token in %s", file.getFileName()).doesNotContain(tunnel.token());
            }
        }
        store = Store.open(dataDir);
    }

    @Test
    void regeneratedTokenReplacesTheOldOne() {
        Tunnel tunnel = store.createTunnel("t");
        RegeneratedToken regeneration = store.regenerateToken(tunnel.id()).orElseThrow();
        Tunnel regenerated = regeneration.tunnel();

        assertThat(regenerated.token()).isNotEqualTo(tunnel.token());
        assertThat(regeneration.replacedTokenSha256()).isEqualTo(Secrets.sha256Hex(tunnel.token()));
        assertThat(store.findTunnelByToken(tunnel.token())).isEmpty();
        assertThat(store.findTunnelByToken(regenerated.token())).contains(regenerated.withoutToken());
        assertThat(store.regenerateToken("missing")).isEmpty();
    }

    @Test
    void deletingATunnelCascadesToItsServicesAndTellsListeners() throws ServiceConflictException {
        RecordingListener listener = new RecordingListener();
        store.addServiceListener(listener);
        Tunnel doomed = store.createTunnel("doomed");
        Tunnel kept = store.createTunnel("kept");
        Service first = tcp(doomed.id(), ":3001");
        Service second = tcp(doomed.id(), ":3002");
        Service other = tcp(kept.id(), ":3003");
        listener.changes.clear();

        assertThat(store.deleteTunnel(doomed.id())).isTrue();

        assertThat(store.services()).containsExactly(other);
        assertThat(query("SELECT COUNT(*) FROM services WHERE tunnel_id = '" + doomed.id() + "'")).containsExactly("0");
        assertThat(listener.changes).extracting(RecordingListener.Change::before).containsExactlyInAnyOrder(first, second);
        assertThat(listener.changes).allMatch(RecordingListener.Change::isDelete);
        assertThat(store.deleteTunnel(doomed.id())).isFalse();
    }

    @Test
    void foreignKeysRefuseAServiceOfAMissingTunnel() throws ServiceConflictException {
        assertThat(store.createService(new Service(null, "nope", ServiceType.TCP, null, "/", TlsMode.TERMINATE, ":4000",
                "localhost:22", true, null))).isEmpty();
        assertThatThrownBy(() -> store.database().inTransaction(connection -> {
            try (Statement statement = connection.createStatement()) {
                return statement.executeUpdate("INSERT INTO services (id, tunnel_id, type, target_addr, created_at)"
                        + " VALUES ('x', 'nope', 'tcp', 'h:1', '2026-01-01T00:00:00.000Z')");
            }
        })).isInstanceOf(StoreException.class).hasMessageContaining("FOREIGN KEY");
    }

    @Test
    void aRefusingListenerRollsTheChangeBack() throws ServiceConflictException {
        RecordingListener listener = new RecordingListener();
        store.addServiceListener(listener);
        Tunnel tunnel = store.createTunnel("t");
        Service service = tcp(tunnel.id(), ":5000");
        listener.refuse(change -> true, "busy");

        assertThatThrownBy(() -> tcp(tunnel.id(), ":5001")).isInstanceOf(ServiceConflictException.class).hasMessage("busy");
        assertThatThrownBy(() -> store.updateService(service.id(), s -> new Service(s.id(), s.tunnelId(), s.type(), null, "/",
                TlsMode.TERMINATE, ":5002", "localhost:23", false, null))).isInstanceOf(ServiceConflictException.class);
        assertThatThrownBy(() -> store.deleteService(service.id())).isInstanceOf(ServiceConflictException.class);

        assertThat(store.services()).containsExactly(service);
    }

    /** Two prefixes that route the same, stored before such pairs were refused: each stays editable but for its route. */
    @Test
    void aPairStoredBeforeTheConflictRuleWasTightenedStaysEditableButNotIntoANewConflict() throws Exception {
        Tunnel tunnel = store.createTunnel("t");
        Service api = store.createService(new Service(null, tunnel.id(), ServiceType.HTTP, "app.example.com", "/api",
                TlsMode.TERMINATE, null, "localhost:3000", true, null)).orElseThrow();
        Service other = store.createService(new Service(null, tunnel.id(), ServiceType.HTTP, "app.example.com", "/other",
                TlsMode.TERMINATE, null, "localhost:3001", true, null)).orElseThrow();
        store.database().inTransaction(connection -> {
            try (java.sql.PreparedStatement update = connection.prepareStatement(
                    "UPDATE services SET path_prefix = '/api/' WHERE id = ?")) {
                update.setString(1, other.id());
                update.executeUpdate();
            }
            return null;
        });

        Service disabled = store.updateService(other.id(), s -> new Service(s.id(), s.tunnelId(), s.type(), s.domain(),
                s.pathPrefix(), s.tlsMode(), s.listenAddr(), s.targetAddr(), false, null)).orElseThrow();

        assertThat(disabled.enabled()).isFalse();
        assertThatThrownBy(() -> store.updateService(api.id(), s -> new Service(s.id(), s.tunnelId(), s.type(), s.domain(),
                "/%61pi", s.tlsMode(), s.listenAddr(), s.targetAddr(), true, null)))
                .isInstanceOf(ServiceConflictException.class);
    }

    /**
     * A listener whose undo of a refused change throws is logged with its exception's trace, not its message only, and
     * the change is refused all the same. Before, the WARN carried the message alone.
     */
    @Test
    void aListenerThatFailsToUndoARefusedChangeIsLoggedWithItsTrace() throws Exception {
        Tunnel tunnel = store.createTunnel("t");
        addListenerStaging(new ServiceListener.Staged() {
            @Override
            public void stored() {
            }

            @Override
            public void undo() {
                throw new IllegalStateException("undo broken");
            }
        });
        RecordingListener refusing = new RecordingListener();
        refusing.refuse(change -> true, "busy");
        store.addServiceListener(refusing);
        try (LogCapture log = new LogCapture(Store.class, Level.WARN)) {
            assertThatThrownBy(() -> tcp(tunnel.id(), ":6000")).isInstanceOf(ServiceConflictException.class)
                    .hasMessage("busy");

            assertThat(store.services()).as("not stored").isEmpty();
            assertOneWarnWithTheTraceOf(log, "undo broken");
        }
    }

    @Test
    void aListenerThatFailsToFollowAStoredChangeIsLoggedWithItsTrace() throws Exception {
        Tunnel tunnel = store.createTunnel("t");
        addListenerStaging(ServiceListener.Staged.onceStored(() -> {
            throw new IllegalStateException("listener broken");
        }));
        try (LogCapture log = new LogCapture(Store.class, Level.WARN)) {
            Service created = tcp(tunnel.id(), ":6000");

            assertThat(store.services()).as("stored all the same").containsExactly(created);
            assertOneWarnWithTheTraceOf(log, "listener broken");
        }
    }

    /**
     * A listener whose stored() or undo() throws an Error of its own (an AssertionError, a class that failed to load)
     * is logged as one that throws a RuntimeException, and the later listeners are told all the same. Before, the
     * Error went out of the store's write, a stored change's later listeners not told, a refused one's not undone.
     */
    @Test
    void aListenerThatThrowsAnErrorIsLoggedAndTheOthersAreToldAllTheSame() throws Exception {
        Tunnel tunnel = store.createTunnel("t");
        List<String> toldAfter = new ArrayList<>();
        addListenerStaging(new ServiceListener.Staged() {
            @Override
            public void stored() {
                throw new AssertionError("stored broken");
            }

            @Override
            public void undo() {
                throw new AssertionError("undo broken");
            }
        });
        addListenerStaging(new ServiceListener.Staged() {
            @Override
            public void stored() {
                toldAfter.add("stored");
            }

            @Override
            public void undo() {
                toldAfter.add("undone");
            }
        });
        try (LogCapture log = new LogCapture(Store.class, Level.WARN)) {
            Service created = tcp(tunnel.id(), ":6000");

            assertThat(store.services()).as("stored all the same").containsExactly(created);
            assertThat(toldAfter).as("the later listener").containsExactly("stored");
            assertOneWarnWithTheTraceOf(log, "stored broken");
        }
        RecordingListener refusing = new RecordingListener();
        refusing.refuse(change -> true, "busy");
        store.addServiceListener(refusing);
        toldAfter.clear();
        try (LogCapture log = new LogCapture(Store.class, Level.WARN)) {
            assertThatThrownBy(() -> tcp(tunnel.id(), ":6001")).isInstanceOf(ServiceConflictException.class)
                    .hasMessage("busy");

            assertThat(toldAfter).as("the later listener, undone first").containsExactly("undone");
            assertOneWarnWithTheTraceOf(log, "undo broken");
        }
    }

    /** A listener that applies nothing and answers every change with {@code staged}. */
    private void addListenerStaging(ServiceListener.Staged staged) {
        store.addServiceListener(new ServiceListener() {
            @Override
            public void onServiceChange(Service before, Service after) {
            }

            @Override
            public Staged stage(Service before, Service after) {
                return staged;
            }
        });
    }

    /** {@code log} holds one event: a WARN with the listener's exception, its {@code message}, and its trace. */
    private static void assertOneWarnWithTheTraceOf(LogCapture log, String message) {
        assertThat(log.events()).as("the WARN, with the listener's exception and its trace").singleElement()
                .satisfies(e -> {
                    assertThat(e.getLevel()).isEqualTo(Level.WARN);
                    assertThat(e.getThrowableProxy()).isNotNull();
                    assertThat(e.getThrowableProxy().getMessage()).isEqualTo(message);
                    assertThat(e.getThrowableProxy().getStackTraceElementProxyArray()).isNotEmpty();
                });
    }

    @Test
    void readsDoNotWaitForAServiceChangeThatIsWaitingForAListener() throws Exception {
        Tunnel tunnel = store.createTunnel("t");
        CountDownLatch listenerEntered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        store.addServiceListener((before, after) -> {
            listenerEntered.countDown();
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        ExecutorService executor = Executors.newFixedThreadPool(2);
        try {
            Future<Service> change = executor.submit(() -> tcp(tunnel.id(), ":6000"));
            assertThat(listenerEntered.await(30, TimeUnit.SECONDS)).isTrue();

            Future<Optional<Tunnel>> lookup = executor.submit(() -> store.findTunnelByToken(tunnel.token()));
            assertThat(lookup.get(30, TimeUnit.SECONDS)).contains(tunnel.withoutToken());
            assertThat(store.services()).as("the change is not committed yet").isEmpty();

            release.countDown();
            Service created = change.get(30, TimeUnit.SECONDS);
            assertThat(store.services()).containsExactly(created);
        } finally {
            release.countDown();
            executor.shutdownNow();
        }
    }

    @Test
    void servicesAndTunnelsSurviveReopening() throws ServiceConflictException {
        Tunnel tunnel = store.createTunnel("persisted");
        Service service = store.createService(new Service(null, tunnel.id(), ServiceType.HTTP, "app.example.com", "/api",
                TlsMode.PASSTHROUGH, null, "localhost:443", false, null)).orElseThrow();
        store.close();

        store = Store.open(dataDir);

        assertThat(store.tunnels()).containsExactly(tunnel.withoutToken());
        assertThat(store.services(tunnel.id())).containsExactly(service);
        assertThat(store.findTunnelByToken(tunnel.token())).contains(tunnel.withoutToken());
    }
}
