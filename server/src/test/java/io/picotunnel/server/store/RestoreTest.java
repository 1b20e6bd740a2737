package io.picotunnel.server.store;

import ch.qos.logback.classic.Level;
import io.picotunnel.server.auth.SessionStore;
import io.picotunnel.server.files.DurableFileWrites;
import io.picotunnel.server.files.FileStoreWithoutPosix;
import io.picotunnel.server.files.TestFileWrites;
import io.picotunnel.testkit.DirectoryNames;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class RestoreTest {

    @TempDir
    Path dataDir;
    @TempDir
    Path backups;

    private Path backupWith(String tunnel) {
        Path copy = backups.resolve(tunnel + ".db");
        try (Store store = Store.open(dataDir)) {
            store.createTunnel(tunnel);
            Backup.run(dataDir, copy);
        }
        return copy;
    }

    private List<String> tunnels() {
        try (Store store = Store.open(dataDir)) {
            return store.tunnels().stream().map(Tunnel::name).toList();
        }
    }

    /**
     * The names of the copies set aside and of the database restored are synced, each before the next step: on a file
     * system that cannot sync a directory, a warning says so once, where the restore went on without a word.
     */
    @Test
    void theDataDirectoryIsSyncedWithTheCopiesAsideThenWithTheNewDatabaseInPlaceAFailedSyncLoggedOnce() throws Exception {
        Path backup = backupWith("restored");
        List<List<String>> seenAtSync = new ArrayList<>();
        DurableFileWrites files = TestFileWrites.syncingWith(synced -> {
            assertThat(synced).isEqualTo(dataDir);
            seenAtSync.add(DirectoryNames.of(dataDir));
            return false;
        });

        try (LogCapture log = new LogCapture(DurableFileWrites.class, Level.WARN)) {
            Restore.run(dataDir, backup, null, Restore.Steps.NONE, Clock.systemUTC(), files);

            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .startsWith("Cannot sync the directory " + dataDir + ":");
        }
        assertThat(seenAtSync).hasSize(2);
        assertThat(seenAtSync.getFirst()).contains(Restore.STAGING_FILE, Store.DATABASE_FILE)
                .anyMatch(name -> name.startsWith(Store.DATABASE_FILE + ".before-restore-"));
        assertThat(seenAtSync.getLast()).contains(Store.DATABASE_FILE).doesNotContain(Restore.STAGING_FILE);
        assertThat(tunnels()).containsExactly("restored");
    }

    /**
     * Where the data directory's file store says it has no POSIX permissions but its file system takes them, the
     * staging copy of the database, which holds the tunnels' tokens, is owner-only before it takes the database's
     * name, and so is the database restored. Created without permissions there, it had the umask's rw-r--r--.
     */
    @Test
    void aFileStoreWithoutPosixPermissionsOnAFileSystemWithThemGetsAnOwnerOnlyStagingCopy(@TempDir Path zipDir)
            throws Exception {
        FileStoreWithoutPosix.assumeTheUmaskLetsOthersRead(backups);
        Path backup = backupWith("restored");
        List<String> stagingAtSetAside = new ArrayList<>();
        Restore.Steps steps = new Restore.Steps(Restore.Steps.NONE.lock(), () -> {
            try {
                Path staging = dataDir.resolve(Restore.STAGING_FILE);
                stagingAtSetAside.add(PosixFilePermissions.toString(Files.getPosixFilePermissions(staging)));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });

        Restore.Outcome outcome;
        try (FileStoreWithoutPosix withoutPosix = new FileStoreWithoutPosix(zipDir.resolve("store.zip"))) {
            outcome = Restore.run(dataDir, backup, null, steps, Clock.systemUTC(),
                    TestFileWrites.withFileStore(withoutPosix.lookup()));
        }

        assertThat(stagingAtSetAside).containsExactly("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(outcome.database())))
                .isEqualTo("rw-------");
        assertThat(tunnels()).containsExactly("restored");
    }

    @Test
    void aBackupReplacesTheDatabaseWhichIsKeptBesideIt() throws Exception {
        Path backup = backupWith("kept");
        try (Store store = Store.open(dataDir)) {
            store.createTunnel("after-the-backup");
        }

        Restore.Outcome outcome = Restore.run(dataDir, backup);

        assertThat(outcome.database()).isEqualTo(dataDir.resolve(Store.DATABASE_FILE));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(outcome.database()))).isEqualTo("rw-------");
        assertThat(outcome.previous().getFileName().toString()).startsWith("picotunnel.db.before-restore-");
        assertThat(DirectoryNames.of(dataDir))
                .containsExactlyInAnyOrder(Store.DATABASE_FILE, outcome.previous().getFileName().toString());
        assertThat(tunnels()).containsExactly("kept");
        try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + outcome.previous());
             Statement statement = connection.createStatement();
             var rows = statement.executeQuery("SELECT count(*) FROM tunnels")) {
            assertThat(rows.getInt(1)).as("the replaced database is whole").isEqualTo(2);
        }
    }

    /** The tunnels of a database file, by name. */
    private static List<String> tunnelsIn(Path database) throws Exception {
        try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + database);
             Statement statement = connection.createStatement();
             var rows = statement.executeQuery("SELECT name FROM tunnels ORDER BY name")) {
            List<String> names = new ArrayList<>();
            while (rows.next()) {
                names.add(rows.getString(1));
            }
            return names;
        }
    }

    @Test
    void restoresBackToBackKeepEveryDatabaseTheyReplaced() throws Exception {
        Path backup = backupWith("in-the-backup");
        List<Path> kept = new ArrayList<>();
        // Three within a second or so: with names to the second, two of them at least fell in the same one.
        for (int i = 0; i < 3; i++) {
            try (Store store = Store.open(dataDir)) {
                store.createTunnel("added-" + i);
            }
            kept.add(Restore.run(dataDir, backup).previous());
        }

        assertThat(kept).doesNotHaveDuplicates().allSatisfy(previous -> assertThat(previous.getFileName().toString())
                .matches("picotunnel\\.db\\.before-restore-\\d{8}-\\d{6}\\.\\d{3}Z(-\\d+)?"));
        for (int i = 0; i < 3; i++) {
            assertThat(tunnelsIn(kept.get(i))).as("the database the restore %d replaced", i)
                    .containsExactly("added-" + i, "in-the-backup");
        }
        assertThat(tunnels()).containsExactly("in-the-backup");
    }

    @Test
    void restoresInTheSameMillisecondNumberTheCopiesTheyKeep() throws Exception {
        Path backup = backupWith("in-the-backup");
        Clock frozen = Clock.fixed(Instant.parse("2026-01-31T14:25:03.207Z"), ZoneOffset.UTC);
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            try (Store store = Store.open(dataDir)) {
                store.createTunnel("added-" + i);
            }
            names.add(Restore.run(dataDir, backup, null, Restore.Steps.NONE, frozen).previous().getFileName().toString());
        }

        assertThat(names).containsExactly("picotunnel.db.before-restore-20260131-142503.207Z",
                "picotunnel.db.before-restore-20260131-142503.207Z-2", "picotunnel.db.before-restore-20260131-142503.207Z-3");
        assertThat(tunnelsIn(dataDir.resolve(names.get(2)))).containsExactly("added-2", "in-the-backup");
    }

    @Test
    void aRestoreEndsEverySignInSessionOfTheBackupSoThatOneSignedOutSinceIsNotValidAgain() throws Exception {
        Path backup = backups.resolve("sessions.db");
        String signedOutSince;
        String stillSignedIn;
        try (Store store = Store.open(dataDir)) {
            SessionStore sessions = new SessionStore(store.database());
            signedOutSince = sessions.create("admin", "token", null, "credential");
            stillSignedIn = sessions.create("alice@example.com", "oidc", "id-token", "credential");
            Backup.run(dataDir, backup);
            sessions.delete(signedOutSince);
        }

        Restore.Outcome outcome = Restore.run(dataDir, backup);

        try (Store store = Store.open(dataDir)) {
            SessionStore sessions = new SessionStore(store.database());
            assertThat(sessions.find(signedOutSince)).as("revoked after the backup").isEmpty();
            assertThat(sessions.find(stillSignedIn)).as("everyone signs in again").isEmpty();
        }
        assertThat(outcome.endedSessions()).isEqualTo(2);
        assertThat(DirectoryNames.of(dataDir))
                .containsExactlyInAnyOrder(Store.DATABASE_FILE, outcome.previous().getFileName().toString());
    }

    @Test
    void aBackupRestoresIntoAnEmptyDataDirectory() throws Exception {
        Path backup = backupWith("moved");
        Path fresh = dataDir.resolve("elsewhere/data");

        Restore.Outcome outcome = Restore.run(fresh, backup);

        assertThat(outcome.previous()).isNull();
        try (Store store = Store.open(fresh)) {
            assertThat(store.tunnels()).extracting(Tunnel::name).containsExactly("moved");
        }
    }

    @Test
    void aTruncatedBackupIsRefusedAndTheDatabaseLeftAsItWas() throws Exception {
        Path backup = backupWith("live");
        byte[] whole = Files.readAllBytes(backup);
        Files.write(backup, Arrays.copyOf(whole, whole.length / 2));
        List<String> before = DirectoryNames.of(dataDir);
        byte[] database = Files.readAllBytes(dataDir.resolve(Store.DATABASE_FILE));

        assertThatThrownBy(() -> Restore.run(dataDir, backup)).isInstanceOf(StoreException.class)
                .hasMessageStartingWith("Cannot restore " + backup + ": it is damaged or cut short (")
                .hasMessageNotContaining("not a usable SQLite database").hasMessageContaining("Nothing was changed");

        assertThat(DirectoryNames.of(dataDir)).isEqualTo(before);
        assertThat(Files.readAllBytes(dataDir.resolve(Store.DATABASE_FILE))).isEqualTo(database);
        assertThat(tunnels()).containsExactly("live");
    }

    /**
     * SQLite's check puts "*** in database main ***" on a line of its own before the first damage it finds, and the
     * refusal (as the start's) showed that line alone: "it is damaged (*** in database main ***)".
     */
    @Test
    void aDamagedBackupIsRefusedNamingWhatSqliteFoundNotItsHeader() throws Exception {
        Path backup = backupWith("live");
        long root;
        try (java.sql.Connection connection = java.sql.DriverManager.getConnection("jdbc:sqlite:" + backup);
             java.sql.Statement statement = connection.createStatement()) {
            statement.execute("CREATE TABLE filler (data BLOB NOT NULL)");
            for (int i = 0; i < 200; i++) {
                statement.execute("INSERT INTO filler (data) VALUES (randomblob(100))");
            }
            try (java.sql.ResultSet rows = statement.executeQuery(
                    "SELECT rootpage FROM sqlite_schema WHERE name = 'filler'")) {
                root = rows.getLong(1);
            }
        }
        try (java.nio.channels.FileChannel file = java.nio.channels.FileChannel.open(backup,
                java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
            java.nio.ByteBuffer header = java.nio.ByteBuffer.allocate(1);
            file.read(header, (root - 1) * 4096);
            assertThat(header.get(0)).as("the table's root is an interior page").isEqualTo((byte) 0x05);
            // its right-most child pointer made to name a page it has as another child already
            file.write(java.nio.ByteBuffer.allocate(4).putInt(0, (int) root + 1), (root - 1) * 4096 + 8);
        }

        assertThatThrownBy(() -> Restore.run(dataDir, backup)).isInstanceOf(StoreException.class)
                .hasMessageStartingWith("Cannot restore " + backup + ": it is damaged (")
                .hasMessageNotContaining("***").hasMessageContaining("page " + root + " cell");
        assertThat(tunnels()).containsExactly("live");
    }

    /** A backup whose rows were changed by hand against their rules is refused, naming them, not called damaged. */
    @Test
    void aBackupWithRowsEditedAgainstTheirRulesIsRefusedNamingThemNotCalledDamaged() throws Exception {
        Path backup = backupWith("live");
        try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + backup);
             Statement statement = connection.createStatement()) {
            statement.execute("PRAGMA ignore_check_constraints = 1");
            statement.executeUpdate("INSERT INTO checks (tunnel_id, status, created_at)"
                    + " SELECT id, 'sideways', 0 FROM tunnels");
        }
        byte[] database = Files.readAllBytes(dataDir.resolve(Store.DATABASE_FILE));

        assertThatThrownBy(() -> Restore.run(dataDir, backup)).isInstanceOf(StoreException.class)
                .hasMessageStartingWith("Cannot restore " + backup + ": it is not damaged but has rows that break the"
                        + " rules of their table")
                .hasMessageContaining("checks rowid 1 failing CHECK (status IN ('up', 'down'))")
                .hasMessageNotContaining("is damaged").hasMessageEndingWith("Nothing was changed.");

        assertThat(Files.readAllBytes(dataDir.resolve(Store.DATABASE_FILE))).isEqualTo(database);
        assertThat(tunnels()).containsExactly("live");
    }

    @Test
    void garbageAnotherProgramsDatabaseAndOneFromANewerVersionAreRefused() throws Exception {
        backupWith("live");
        Path garbage = Files.writeString(backups.resolve("garbage.db"), "not a database".repeat(500));
        Path foreign = backups.resolve("foreign.db");
        try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + foreign);
             Statement statement = connection.createStatement()) {
            statement.executeUpdate("CREATE TABLE dashboards (id INTEGER PRIMARY KEY)");
        }
        Path newer = backups.resolve("newer.db");
        Files.copy(backups.resolve("live.db"), newer);
        try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + newer);
             Statement statement = connection.createStatement()) {
            statement.executeUpdate("INSERT INTO schema_version VALUES (9999, 'future', '2099-01-01T00:00:00.000Z')");
        }

        assertThatThrownBy(() -> Restore.run(dataDir, garbage)).hasMessageContaining("not a usable SQLite database");
        assertThatThrownBy(() -> Restore.run(dataDir, foreign)).hasMessageContaining("not a PicoTunnel database");
        assertThatThrownBy(() -> Restore.run(dataDir, newer)).hasMessageContaining("schema version 9999");
        assertThatThrownBy(() -> Restore.run(dataDir, backups.resolve("missing.db")))
                .hasMessageContaining("no readable file");

        assertThat(DirectoryNames.of(dataDir)).containsExactly(Store.DATABASE_FILE);
        assertThat(tunnels()).containsExactly("live");
    }

    @Test
    void aCrashAfterTheOldDatabaseIsSetAsideLeavesItInPlaceNeverNoDatabase() throws Exception {
        Path backup = backupWith("from-the-backup");
        try (Store store = Store.open(dataDir)) {
            store.createTunnel("after-the-backup");
        }
        RuntimeException crash = new IllegalStateException("simulated crash");

        assertThatThrownBy(() -> Restore.run(dataDir, backup, new Restore.Steps(dir -> () -> { }, () -> {
            throw crash;
        }))).isSameAs(crash);

        assertThat(dataDir.resolve(Store.DATABASE_FILE)).as("never missing").isRegularFile();
        assertThat(tunnels()).containsExactlyInAnyOrder("from-the-backup", "after-the-backup");
    }

    @Test
    void aWalLeftBehindByADatabaseMovedAwayIsNotReplayedOntoTheRestoredOne() throws Exception {
        Path other = Files.createDirectories(backups.resolve("other"));
        Path backup = backups.resolve("b.db");
        try (Store store = Store.open(other)) {
            store.createTunnel("b");
            Backup.run(other, backup);
        }
        Path database = dataDir.resolve(Store.DATABASE_FILE);
        Path wal = dataDir.resolve(Store.DATABASE_FILE + "-wal");
        Path keptWal = backups.resolve("a.db-wal");
        try (Store store = Store.open(dataDir);
             Connection connection = DriverManager.getConnection("jdbc:sqlite:" + database);
             Statement statement = connection.createStatement()) {
            statement.execute("PRAGMA wal_autocheckpoint=0");
            for (int i = 0; i < 20; i++) {
                store.createTunnel("a-" + i);
            }
            assertThat(Files.size(wal)).as("un-checkpointed writes of A").isPositive();
            Files.copy(wal, keptWal);
        }
        Files.delete(database);
        Files.copy(keptWal, wal);

        Restore.Outcome outcome = Restore.run(dataDir, backup);

        assertThat(outcome.previous()).isNull();
        assertThat(tunnels()).containsExactly("b");
        assertThat(outcome.leftovers()).singleElement().satisfies(kept -> {
            assertThat(kept.getFileName().toString()).startsWith("picotunnel.db-wal.before-restore-");
            assertThat(Files.readAllBytes(kept)).as("kept as it was").isEqualTo(Files.readAllBytes(keptWal));
        });
    }

    @Test
    void anOldFlywayDatabaseWhoseHistoryTableIsAlsoCalledSchemaVersionIsRefused() throws Exception {
        backupWith("live");
        Path flyway = backups.resolve("flyway.db");
        try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + flyway);
             Statement statement = connection.createStatement()) {
            statement.executeUpdate("CREATE TABLE schema_version (installed_rank INT NOT NULL, version VARCHAR(50),"
                    + " description VARCHAR(200) NOT NULL, success BOOLEAN NOT NULL)");
            statement.executeUpdate("INSERT INTO schema_version VALUES (1, '1', 'init', 1)");
            statement.executeUpdate("CREATE TABLE orders (id INTEGER PRIMARY KEY)");
        }

        assertThatThrownBy(() -> Restore.run(dataDir, flyway)).isInstanceOf(StoreException.class)
                .hasMessageContaining("not a PicoTunnel database").hasMessageContaining("Nothing was changed");

        assertThat(DirectoryNames.of(dataDir)).containsExactly(Store.DATABASE_FILE);
        assertThat(tunnels()).containsExactly("live");
    }

    @Test
    void runAsRootTheRestoredFileBelongsToTheServersUserAsTheOneItReplaces() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root to give files away");
        Path backup = backupWith("kept");
        UserPrincipal server = dataDir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("10001");
        Files.setOwner(dataDir.resolve(Store.DATABASE_FILE), server);

        Restore.Outcome outcome = Restore.run(dataDir, backup);

        assertThat(Files.getOwner(outcome.database())).isEqualTo(server);
        assertThat(Files.getOwner(dataDir)).isNotEqualTo(server);
    }

    @Test
    void aRestoreWhileTheServerUsesTheDatabaseIsRefused() throws Exception {
        Path backup = backupWith("old");
        try (Store running = Store.open(dataDir)) {
            running.createTunnel("new");

            assertThatThrownBy(() -> Restore.run(dataDir, backup)).isInstanceOf(StoreException.class)
                    .hasMessageContaining("stop the server first");

            assertThat(running.tunnels()).extracting(Tunnel::name).containsExactlyInAnyOrder("old", "new");
            running.createTunnel("still-writable");
        }
        assertThat(tunnels()).containsExactlyInAnyOrder("old", "new", "still-writable");
        assertThat(DirectoryNames.of(dataDir)).noneMatch(name -> name.contains("restor"));
    }
}
