package io.picotunnel.server.store;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Reads run on several connections at once (real SQLite, real threads): a long read does not hold up the others (a
 * tunnel client's token lookup), a read finds no free connection only for a bounded time, and close leaves none open.
 */
class ReadConnectionsTest {

    private static final Duration SHORT = Duration.ofSeconds(5);

    @TempDir
    Path dataDir;

    @Test
    void aReadHoldingItsConnectionDoesNotKeepAnotherThreadsReadFromFinishing() throws Exception {
        try (Database database = Database.open(dataDir.resolve(Store.DATABASE_FILE));
             HeldRead longRead = new HeldRead(database)) {
            longRead.connection();

            CompletableFuture<Integer> other = onItsOwnThread(() -> database.read(ReadConnectionsTest::one));

            // Before: the other read waited for the long one's connection.
            await().atMost(SHORT).until(other::isDone);
            assertThat(other.get()).isEqualTo(1);
            assertThat(longRead.ended()).isNotDone();
        }
    }

    @Test
    void aTokenLookupFinishesWhileALongReadIsInProgress() throws Exception {
        try (Store store = Store.open(dataDir)) {
            Tunnel tunnel = store.createTunnel("demo");
            try (HeldRead longRead = new HeldRead(store.database())) {
                longRead.connection();

                CompletableFuture<Optional<Tunnel>> lookup = onItsOwnThread(() -> store.findTunnelByToken(tunnel.token()));

                // Before: the lookup waited for the long read's end, as a tunnel client's handshake did.
                await().atMost(SHORT).until(lookup::isDone);
                assertThat(lookup.get()).map(Tunnel::id).contains(tunnel.id());
                assertThat(longRead.ended()).isNotDone();
            }
        }
    }

    @Test
    void aReadWhenEveryConnectionIsHeldFailsAfterTheBoundedWaitSayingSo() throws Exception {
        try (Database database = Database.open(dataDir.resolve(Store.DATABASE_FILE), Duration.ofMillis(300));
             HeldReads all = HeldReads.ofEveryConnection(database)) {
            CompletableFuture<Integer> further = onItsOwnThread(() -> database.read(ReadConnectionsTest::one));

            // Before: the further read waited as long as the others held the connection, without end.
            await().atMost(SHORT).until(further::isDone);
            assertThat(further).failsWithin(Duration.ZERO).withThrowableThat().havingCause()
                    .isInstanceOfSatisfying(StoreException.class, busy -> assertThat(busy.readConnectionsHeld()).isTrue())
                    .withMessage("Database busy: all " + Database.READ_CONNECTIONS + " read connections have been held"
                            + " by other reads for 300 ms (long listings or exports)");

            all.reads().getFirst().release();
            assertThat(database.read(ReadConnectionsTest::one)).as("a connection given back").isEqualTo(1);
        }
    }

    @Test
    void aReadWaitingForAConnectionGetsTheFirstOneGivenBack() throws Exception {
        try (Database database = Database.open(dataDir.resolve(Store.DATABASE_FILE), Duration.ofSeconds(30));
             HeldReads all = HeldReads.ofEveryConnection(database)) {
            CompletableFuture<Integer> further = onItsOwnThread(() -> database.read(ReadConnectionsTest::one));

            all.reads().getLast().release();

            await().atMost(SHORT).until(further::isDone);
            assertThat(further.get()).isEqualTo(1);
        }
    }

    @Test
    void aReadNestedInAReadOfTheSameThreadFinishesWhileEveryConnectionIsHeld() throws Exception {
        try (Database database = Database.open(dataDir.resolve(Store.DATABASE_FILE), Duration.ofMillis(300))) {
            CountDownLatch allHeld = new CountDownLatch(Database.READ_CONNECTIONS);
            List<CompletableFuture<Integer>> reads = new ArrayList<>();
            for (int i = 0; i < Database.READ_CONNECTIONS; i++) {
                reads.add(onItsOwnThread(() -> database.read(outer -> {
                    allHeld.countDown();
                    awaitQuietly(allHeld);
                    return database.read(ReadConnectionsTest::one);
                })));
            }

            // Before: each nested read waited for a second connection, held by the other outer reads, and after 300 ms
            // failed "Database busy".
            assertThat(reads).allSatisfy(read -> assertThat(read).succeedsWithin(SHORT).isEqualTo(1));
            assertThat(database.read(ReadConnectionsTest::one)).as("a read after them").isEqualTo(1);
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(SHORT.toSeconds(), TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void everyReadConnectionIsOneOfItsOwnWithTheDatabasesSettings() throws Exception {
        try (Database database = Database.open(dataDir.resolve(Store.DATABASE_FILE));
             HeldReads all = HeldReads.ofEveryConnection(database)) {
            assertThat(all.reads()).map(HeldRead::connection).doesNotHaveDuplicates();
            for (HeldRead read : all.reads()) {
                assertThat(read.settings()).isEqualTo("journal_mode=wal synchronous=2 secure_delete=1 foreign_keys=1"
                        + " busy_timeout=5000");
            }
        }
    }

    @Test
    void closeDoesNotWaitForAReadInProgressAndClosesItsConnectionWhenItEnds() throws Exception {
        Database database = Database.open(dataDir.resolve(Store.DATABASE_FILE));
        try (HeldRead longRead = new HeldRead(database)) {
            Connection held = longRead.connection();

            CompletableFuture<Void> closed = onItsOwnThread(() -> {
                database.close();
                return null;
            });

            // Before: close waited for the read's end.
            await().atMost(SHORT).until(closed::isDone);
            assertThat(held.isClosed()).as("still in use").isFalse();
            longRead.release();
            assertThat(longRead.ended()).succeedsWithin(SHORT);
            assertThat(held.isClosed()).isTrue();
        } finally {
            database.close();
        }
    }

    @Test
    void aReadAfterCloseFailsSayingTheDatabaseIsClosedAndNoConnectionIsLeftOpen() throws Exception {
        Path file = dataDir.resolve(Store.DATABASE_FILE);
        Database database = Database.open(file);
        List<Connection> connections = new ArrayList<>();
        HeldReads all = HeldReads.ofEveryConnection(database);
        all.reads().forEach(read -> connections.add(read.connection()));
        all.close();
        all.reads().forEach(read -> assertThat(read.ended()).succeedsWithin(SHORT));

        database.close();

        assertThat(connections).allSatisfy(connection -> assertThat(connection.isClosed()).isTrue());
        // Before: "Database error: database connection closed", a bug's words.
        assertThat(onItsOwnThread(() -> database.read(ReadConnectionsTest::one))).failsWithin(SHORT)
                .withThrowableThat().havingCause().isInstanceOf(StoreException.class)
                .withMessage("The database " + file + " is closed (the server is stopping)");
    }

    @Test
    void aReadWaitingForAConnectionFailsAtOnceWhenTheDatabaseIsClosed() throws Exception {
        Path file = dataDir.resolve(Store.DATABASE_FILE);
        Database database = Database.open(file, Duration.ofSeconds(30));
        HeldReads all = HeldReads.ofEveryConnection(database);
        try {
            CompletableFuture<Integer> waiting = onItsOwnThread(() -> database.read(ReadConnectionsTest::one));

            database.close();

            assertThat(waiting).failsWithin(SHORT).withThrowableThat().havingCause()
                    .withMessage("The database " + file + " is closed (the server is stopping)");
            all.close();
            for (HeldRead read : all.reads()) {
                assertThat(read.ended()).succeedsWithin(SHORT);
                assertThat(read.connection().isClosed()).isTrue();
            }
        } finally {
            all.close();
            database.close();
        }
    }

    @Test
    void aWriteOnAReadConnectionFails() {
        try (Database database = Database.open(dataDir.resolve(Store.DATABASE_FILE))) {
            // Before: the write ran without a word, outside the write lock (and the read's rollback undid it).
            assertThat(onItsOwnThread(() -> database.read(connection -> {
                try (Statement statement = connection.createStatement()) {
                    return statement.executeUpdate("CREATE TABLE written_by_a_read (x)");
                }
            }))).failsWithin(SHORT).withThrowableThat().havingCause().isInstanceOf(StoreException.class)
                    .withMessageContaining("attempt to write a readonly database");
        }
    }

    @Test
    void aWriteAfterCloseFailsSayingTheDatabaseIsClosed() {
        Path file = dataDir.resolve(Store.DATABASE_FILE);
        Database database = Database.open(file);

        database.close();

        // Before: "Database error: database connection closed", a bug's words.
        assertThat(onItsOwnThread(() -> database.inTransaction(ReadConnectionsTest::one))).failsWithin(SHORT)
                .withThrowableThat().havingCause().isInstanceOf(StoreException.class)
                .withMessage("The database " + file + " is closed (the server is stopping)");
    }

    private static int one(Connection connection) throws SQLException {
        try (Statement statement = connection.createStatement(); ResultSet row = statement.executeQuery("SELECT 1")) {
            return row.getInt(1);
        }
    }

    private static <T> CompletableFuture<T> onItsOwnThread(Supplier<T> work) {
        return CompletableFuture.supplyAsync(work, task -> Thread.ofPlatform().daemon().start(task));
    }
}
