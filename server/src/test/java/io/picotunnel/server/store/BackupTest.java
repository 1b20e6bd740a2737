package io.picotunnel.server.store;

import io.picotunnel.server.files.FileStoreWithoutPosix;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class BackupTest {

    @TempDir
    Path dataDir;
    @TempDir
    Path backups;
    Store store;
    ExecutorService threads = Executors.newFixedThreadPool(2);

    @BeforeEach
    void open() {
        store = Store.open(dataDir);
    }

    @AfterEach
    void close() throws InterruptedException {
        threads.shutdownNow();
        assertThat(threads.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
        store.close();
    }

    private static List<String> query(Path database, String sql) throws Exception {
        try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + database);
             Statement statement = connection.createStatement(); ResultSet rows = statement.executeQuery(sql)) {
            List<String> values = new ArrayList<>();
            while (rows.next()) {
                values.add(rows.getString(1));
            }
            return values;
        }
    }

    @Test
    void aBackupOfABigDatabaseFinishesWhileTheServerKeepsWriting() throws Exception {
        store.database().inTransaction(connection -> {
            try (Statement statement = connection.createStatement()) {
                statement.execute("CREATE TABLE filler (b BLOB)");
                statement.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)"
                        + " INSERT INTO filler SELECT randomblob(8000) FROM n");
            }
            return null;
        });
        Tunnel tunnel = store.createTunnel("busy");
        AtomicBoolean backupDone = new AtomicBoolean();
        AtomicInteger writes = new AtomicInteger();
        // A server under load writes all the time (sessions, traffic, checks, events): here every few ms.
        Future<?> writer = threads.submit(() -> {
            for (int i = 0; i < 100_000 && !backupDone.get(); i++) {
                store.renameTunnel(tunnel.id(), "busy-" + i);
                writes.incrementAndGet();
                Thread.onSpinWait();
            }
        });
        Path copy = backups.resolve("copy.db");

        Future<?> backup = threads.submit(() -> Backup.run(dataDir, copy));
        try {
            backup.get(60, TimeUnit.SECONDS);
        } finally {
            backupDone.set(true);
            backup.cancel(true);
            writer.get(30, TimeUnit.SECONDS);
        }

        assertThat(writes.get()).as("the server wrote during the backup").isPositive();
        assertThat(query(copy, "PRAGMA integrity_check")).containsExactly("ok");
        assertThat(query(copy, "SELECT count(*) FROM filler")).containsExactly("3000");
        assertThat(query(copy, "SELECT name FROM tunnels")).singleElement().asString().startsWith("busy");
    }

    private Map<String, UserPrincipal> ownersInDataDir() {
        Map<String, UserPrincipal> owners = new TreeMap<>();
        try (Stream<Path> files = Files.list(dataDir)) {
            for (Path file : files.toList()) {
                owners.put(file.getFileName().toString(), Files.getOwner(file));
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return owners;
    }

    @Test
    void runAsRootOnAStoppedServersDatabaseEveryFileItCreatesBelongsToTheDatabasesOwnerAlsoIfKilledMidway()
            throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root to give files away");
        store.createTunnel("kept");
        store.close();
        UserPrincipal server = dataDir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("10001");
        Files.setOwner(dataDir.resolve(Store.DATABASE_FILE), server);
        assertThat(ownersInDataDir()).containsOnlyKeys(Store.DATABASE_FILE);
        List<Map<String, UserPrincipal>> whileOpen = new ArrayList<>();

        Backup.run(dataDir, backups.resolve("copy.db"), () -> whileOpen.add(ownersInDataDir()));

        assertThat(whileOpen.getFirst()).as("what a backup killed before it ends leaves")
                .containsKeys(Store.DATABASE_FILE + "-wal", Store.DATABASE_FILE + "-shm")
                .allSatisfy((file, owner) -> assertThat(owner).as(file).isEqualTo(server));
        assertThat(ownersInDataDir()).containsOnlyKeys(Store.DATABASE_FILE)
                .allSatisfy((file, owner) -> assertThat(owner).as(file).isEqualTo(server));
        assertThat(query(backups.resolve("copy.db"), "SELECT name FROM tunnels")).containsExactly("kept");
    }

    /**
     * Where the target's file store says it has no POSIX permissions but its file system takes them, the partial
     * copy, which holds the tunnels' tokens, is owner-only while it is written, and so is the backup it becomes.
     * Created without permissions there, it had the umask's rw-r--r--.
     */
    @Test
    void aFileStoreWithoutPosixPermissionsOnAFileSystemWithThemGetsAnOwnerOnlyPartialCopy(@TempDir Path zipDir)
            throws Exception {
        FileStoreWithoutPosix.assumeTheUmaskLetsOthersRead(backups);
        store.createTunnel("kept");
        Path copy = backups.resolve("copy.db");
        List<String> partialWhileOpen = new ArrayList<>();
        Runnable whileOpen = () -> {
            try {
                Path partial = backups.resolve(".copy.db.partial");
                partialWhileOpen.add(PosixFilePermissions.toString(Files.getPosixFilePermissions(partial)));
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        };

        try (FileStoreWithoutPosix withoutPosix = new FileStoreWithoutPosix(zipDir.resolve("store.zip"))) {
            Backup.run(dataDir, copy, whileOpen, withoutPosix.lookup());
        }

        assertThat(partialWhileOpen).containsExactly("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(copy))).isEqualTo("rw-------");
        assertThat(query(copy, "SELECT name FROM tunnels")).containsExactly("kept");
    }

    @Test
    void theCopyIsReadableByItsOwnerOnlyAndReplacesAnOlderOne() throws Exception {
        store.createTunnel("kept");
        Path copy = backups.resolve("copy.db");
        Files.writeString(copy, "an older backup");
        Files.setPosixFilePermissions(copy, PosixFilePermissions.fromString("rw-r--r--"));

        Backup.run(dataDir, copy);

        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(copy))).isEqualTo("rw-------");
        assertThat(query(copy, "SELECT name FROM tunnels")).containsExactly("kept");
        try (var files = Files.list(backups)) {
            assertThat(files).containsExactly(copy);
        }
    }

    /**
     * The online backup copies damaged pages as they are: a damaged database was written as a damaged backup with
     * "Backup written", replacing a sound one of the same name (a nightly job's), and restore refused it when needed.
     */
    @Test
    void aDamagedDatabaseIsNotWrittenAsABackupAndAnEarlierBackupOfThatNameIsKept() throws Exception {
        store.createTunnel("kept");
        Path copy = backups.resolve("nightly.db");
        Backup.run(dataDir, copy);
        byte[] sound = Files.readAllBytes(copy);
        DamagedDatabases.addManyEvents(store);
        store.close();
        Path database = dataDir.resolve(Store.DATABASE_FILE);
        DamagedDatabases.damageTheMiddlePage(database);

        assertThatThrownBy(() -> Backup.run(dataDir, copy)).isInstanceOf(StoreException.class)
                .hasMessageStartingWith("The database " + database.toAbsolutePath() + " is damaged (")
                .hasMessageContaining("no backup was written (" + copy + " is left as it was)");

        assertThat(Files.readAllBytes(copy)).isEqualTo(sound);
        try (var files = Files.list(backups)) {
            assertThat(files).containsExactly(copy);
        }
    }

    /**
     * Ctrl-C or SIGTERM during a backup ends the JVM without running its finally: the partial copy (the tunnels'
     * tokens, beside the target) was left behind.
     */
    @Test
    void aBackupEndedBySigtermLeavesNoPartialCopy() throws Exception {
        store.createTunnel("kept");
        Path copy = backups.resolve("nightly.db");
        Process process = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                BackupProbe.class.getName(), dataDir.toString(), copy.toString())).redirectErrorStream(true).start();
        try {
            java.io.BufferedReader output = new java.io.BufferedReader(new java.io.InputStreamReader(
                    process.getInputStream(), java.nio.charset.StandardCharsets.UTF_8));
            java.util.concurrent.Future<Boolean> open = threads.submit(() -> {
                for (String line = output.readLine(); line != null; line = output.readLine()) {
                    if (line.equals("open")) {
                        return true;
                    }
                }
                return false;
            });
            assertThat(open.get(60, TimeUnit.SECONDS)).as("the backup reached the point where it waits").isTrue();
            try (var files = Files.list(backups)) {
                assertThat(files).extracting(f -> f.getFileName().toString()).contains(".nightly.db.partial");
            }

            process.destroy();

            assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("ended by SIGTERM").isTrue();
        } finally {
            process.destroyForcibly();
        }
        try (var files = Files.list(backups)) {
            assertThat(files).isEmpty();
        }
    }

    @Test
    void aBackupOntoTheLiveDatabaseIsRefusedAndTheDatabaseKept() throws Exception {
        store.createTunnel("kept");
        Path database = dataDir.resolve(Store.DATABASE_FILE);
        Object inode = Files.readAttributes(database, "unix:ino").get("ino");

        for (Path target : List.of(database, dataDir.resolve(".").resolve(Store.DATABASE_FILE),
                dataDir.resolve(Store.DATABASE_FILE + "-wal"))) {
            assertThatThrownBy(() -> Backup.run(dataDir, target)).isInstanceOf(StoreException.class)
                    .hasMessageContaining("the database itself");
        }

        assertThat(Files.readAttributes(database, "unix:ino").get("ino")).isEqualTo(inode);
        store.createTunnel("after");
        assertThat(store.tunnels()).extracting(Tunnel::name).containsExactlyInAnyOrder("kept", "after");
    }

    @Test
    void aDirectoryAsTargetIsRefusedWithASentenceAndLeftAsItWas() throws Exception {
        Path empty = Files.createDirectory(backups.resolve("nightly"));

        assertThatThrownBy(() -> Backup.run(dataDir, empty)).isInstanceOf(StoreException.class)
                .hasMessageContaining("it is a directory; name a file in it");

        assertThat(empty).isEmptyDirectory();
        try (var files = Files.list(backups)) {
            assertThat(files).containsExactly(empty);
        }
    }

    /**
     * The rename that puts the copy in place is an entry of its directory, which nothing synced: after a crash of the
     * machine the directory could still hold the older backup of that name, or none. On Linux the directory is
     * synced.
     */
    @Test
    void theDirectoryOfTheBackupIsSyncedAfterTheRenameThatPutsTheCopyThere() {
        store.createTunnel("kept");
        Path copy = backups.resolve("nightly.db");

        Backup.Written written = Backup.run(dataDir, copy);

        assertThat(written.file()).isEqualTo(copy);
        assertThat(written.directorySynced()).as("Linux opens and syncs a directory").isTrue();
    }
}
