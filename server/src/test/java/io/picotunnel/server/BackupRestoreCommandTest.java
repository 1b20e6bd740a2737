package io.picotunnel.server;

import ch.qos.logback.classic.Level;
import io.picotunnel.server.auth.AdminToken;
import io.picotunnel.server.store.Restore;
import io.picotunnel.server.store.Store;
import io.picotunnel.server.store.Tunnel;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class BackupRestoreCommandTest {

    @TempDir
    Path dir;

    private record Run(int code, String out, String err) {
    }

    private static Run restore(Map<String, String> env, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        String[] command = new String[args.length + 1];
        command[0] = "restore";
        System.arraycopy(args, 0, command, 1, args.length);
        int code = ServerMain.subcommand(command, env, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)).orElseThrow();
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static Run restoreWith(Runnable afterSetAside, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = RestoreCommand.run(args, Map.of(), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), afterSetAside);
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private Path backupOf(Path data, String tunnel) {
        Path copy = dir.resolve(tunnel + ".db");
        try (Store store = Store.open(data)) {
            store.createTunnel(tunnel);
        }
        assertThat(backup("--data", data.toString(), copy.toString())).isZero();
        return copy;
    }

    private static PicoTunnelServer start(Path data) {
        return PicoTunnelServer.start(ServerConfig.ephemeral(data), new PrintStream(OutputStream.nullOutputStream()));
    }

    private static List<String> tunnels(Path data) {
        try (Store store = Store.open(data)) {
            return store.tunnels().stream().map(Tunnel::name).toList();
        }
    }

    private static int backup(String... args) {
        return backupRun(args).code();
    }

    private static Run backupRun(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        String[] command = new String[args.length + 1];
        command[0] = "backup";
        System.arraycopy(args, 0, command, 1, args.length);
        int code = ServerMain.subcommand(command, Map.of(), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)).orElseThrow();
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /**
     * A restore killed midway (SIGKILL: no finally, no shutdown hook) left its checked copy of the backup, the
     * tunnels' tokens, as {@code <data>/.picotunnel.db.restoring} until the next restore, if any. The next server start
     * deletes it, and says so; the database is the one from before that restore.
     */
    @Test
    void theCopyLeftByARestoreKilledMidwayIsDeletedByTheNextServerStartWhichSaysSo() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path copy = backupOf(data, "from-the-backup");
        try (Store store = Store.open(data)) {
            store.createTunnel("later");
        }
        Path staging = data.resolve(".picotunnel.db.restoring");
        Process process = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                RestoreProbe.class.getName(), "--data", data.toString(), copy.toString()))
                .redirectErrorStream(true).start();
        try {
            BufferedReader output = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8));
            CompletableFuture<Boolean> setAside = CompletableFuture.supplyAsync(() -> {
                try {
                    for (String line = output.readLine(); line != null; line = output.readLine()) {
                        if (line.equals("set aside")) {
                            return true;
                        }
                    }
                    return false;
                } catch (IOException e) {
                    return false;
                }
            });
            assertThat(setAside.get(60, TimeUnit.SECONDS)).as("the restore reached the point where it waits").isTrue();

            process.destroyForcibly();

            assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("killed").isTrue();
        } finally {
            process.destroyForcibly();
        }
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(staging))).isEqualTo("rw-------");

        try (LogCapture log = new LogCapture(Restore.class, Level.INFO)) {
            start(data).stop();

            assertThat(log.messages(Level.INFO)).containsExactly("Deleted " + staging + ", left by a restore that did"
                    + " not finish (the database is as it was before that restore).");
        }
        try (Stream<Path> files = Files.list(data)) {
            assertThat(files).noneMatch(f -> f.getFileName().toString().startsWith(".picotunnel.db.restoring"));
        }
        assertThat(tunnels(data)).containsExactlyInAnyOrder("from-the-backup", "later");
    }

    /**
     * The copy is moved over the name it is given: over picotunnel.lock it replaced the file the running server held
     * its lock on, so that a second server could start on the directory; over admin-token, a certificate or a database
     * a restore kept, it replaced them. Each is refused and left as it was; a backup of a name of its own in the data
     * directory (as the README shows for Docker) is written.
     */
    @Test
    void aBackupOntoAFileTheServerKeepsInItsDataDirectoryIsRefusedAndNothingIsOverwritten() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path lock = data.resolve(DataDirectoryLock.FILE_NAME);
        PicoTunnelServer server = start(data);
        try {
            Path certificate = Files.writeString(Files.createDirectories(data.resolve("certs"))
                    .resolve("tunnel.example.com.pem"), "certificate");
            Path kept = Files.writeString(data.resolve("picotunnel.db.before-restore-20260131-142503.207Z"), "kept");
            Path throughALink = Files.createSymbolicLink(dir.resolve("link"), data);
            List<Path> targets = List.of(lock, data.resolve(AdminToken.FILE_NAME), certificate, kept,
                    data.resolve(".picotunnel.db.restoring"), throughALink.resolve(DataDirectoryLock.FILE_NAME),
                    throughALink.resolve(Store.DATABASE_FILE),
                    // the same files on a case-insensitive file system (macOS, Windows)
                    data.resolve("Admin-Token"), data.resolve("PicoTunnel.lock"), data.resolve("PicoTunnel.DB-wal"),
                    data.resolve("PICOTUNNEL.db.before-restore-20260131-142503.207Z"));
            assertThat(lock).exists();
            assertThat(data.resolve(AdminToken.FILE_NAME)).exists();
            Map<Path, Object> before = new LinkedHashMap<>();
            for (Path file : List.of(lock, data.resolve(AdminToken.FILE_NAME), certificate, kept)) {
                before.put(file, state(file));
            }

            for (Path target : targets) {
                Run run = backupRun("--data", data.toString(), target.toString());

                assertThat(run.code()).as("%s: %s", target, run.err()).isEqualTo(ServerMain.EXIT_STARTUP_FAILED);
                assertThat(run.err()).as("%s", target).startsWith("Cannot write the backup to " + target + ": that is");
            }

            for (Map.Entry<Path, Object> file : before.entrySet()) {
                assertThat(state(file.getKey())).as("%s", file.getKey()).isEqualTo(file.getValue());
            }
            assertThat(data.resolve(".picotunnel.db.restoring")).doesNotExist();
            assertThat(LockFileProbe.tryInAnotherProcess(lock)).as("the server's lock").isEqualTo("held");
            assertThat(backup("--data", data.toString(), data.resolve("backup.db").toString())).isZero();
        } finally {
            server.stop();
        }
        assertThat(tunnels(data)).isEmpty();
    }

    /**
     * A file's inode, size and time of change, read without opening it: closing a descriptor of the lock file would
     * let go of the lock this JVM's server holds on it.
     */
    private static List<Object> state(Path file) throws IOException {
        Map<String, Object> attributes = Files.readAttributes(file, "unix:ino,size,ctime");
        return List.of(attributes.get("ino"), attributes.get("size"), attributes.get("ctime").toString());
    }

    /**
     * The path of the data directory went into SQLite's JDBC URL as it is: the driver cut it at a {@code ?} and took
     * the rest for its settings, so the server could not open its database (or opened another file).
     */
    @Test
    void aDataDirectoryWithQuestionMarkHashAndPercentSignInItsPathWorksForTheServerTheBackupAndTheRestore()
            throws Exception {
        Path data = Files.createDirectories(dir.resolve("data?cache=shared&mode=rwc#1%41"));
        PicoTunnelServer first = start(data);
        try {
            first.store().createTunnel("written");
        } finally {
            first.stop();
        }
        Path copy = data.resolve("backup?of=data#2%41.db");
        PicoTunnelServer second = start(data);
        try {
            assertThat(second.store().tunnels()).extracting(Tunnel::name).containsExactly("written");
            Run backup = backupRun("--data", data.toString(), copy.toString());
            assertThat(backup.code()).as(backup.err()).isZero();
            second.store().createTunnel("after-the-backup");
        } finally {
            second.stop();
        }
        assertThat(tunnels(data)).containsExactlyInAnyOrder("written", "after-the-backup");

        Run run = restore(Map.of(), "--data", data.toString(), copy.toString());

        assertThat(run.code()).as(run.err()).isZero();
        PicoTunnelServer third = start(data);
        try {
            assertThat(third.store().tunnels()).extracting(Tunnel::name).containsExactly("written");
        } finally {
            third.stop();
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files).as("nothing written beside the data directory").containsExactly(data);
        }
    }

    /**
     * {@code --data ""} (a variable in a script that was not set) was the current directory: the backup looked for
     * the database there, and a restore would have put one there.
     */
    @Test
    void anEmptyDataFlagIsAUsageErrorOfBackupAndRestoreNamingTheSetting() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path copy = backupOf(data, "from-the-backup");

        Run backup = backupRun("--data", "", dir.resolve("b.db").toString());
        Run restore = restore(Map.of(), "--data", "", dir.resolve("no-such-backup.db").toString());

        for (Run run : List.of(backup, restore)) {
            assertThat(run.code()).as(run.err()).isEqualTo(ServerMain.EXIT_USAGE);
            assertThat(run.err()).startsWith("Invalid --data (PICOTUNNEL_DATA_DIR): --data is empty; name the data"
                    + " directory, or leave the flag out for PICOTUNNEL_DATA_DIR or the default ./data.");
        }
        assertThat(dir.resolve("b.db")).doesNotExist();
        assertThat(copy).exists();
    }

    /**
     * The server trims its settings, so {@code --data " /srv/data "} (a quoted variable with a stray space) names
     * /srv/data; backup and restore took the spaces as part of the name and found no database, or would have
     * restored into another directory.
     */
    @Test
    void backupAndRestoreTrimTheDataDirectoryAsTheServerDoes() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path copy = backupOf(data, "from-the-backup");
        try (Store store = Store.open(data)) {
            store.createTunnel("later");
        }
        Path second = dir.resolve("second.db");

        Run backup = backupRun("--data", " " + data + " ", second.toString());
        Run restore = restore(Map.of("PICOTUNNEL_DATA_DIR", "\t" + data + " "), copy.toString());

        assertThat(backup.code()).as(backup.err()).isZero();
        assertThat(restore.code()).as(restore.err()).isZero();
        assertThat(tunnels(data)).containsExactly("from-the-backup");
        Path other = Files.createDirectories(dir.resolve("restored-second"));
        Run intoOther = restore(Map.of(), "--data", " " + other + "\n", second.toString());
        assertThat(intoOther.code()).as(intoOther.err()).isZero();
        assertThat(tunnels(other)).containsExactlyInAnyOrder("from-the-backup", "later");
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(file -> file.getFileName().toString()))
                    .as("no directory named with the spaces").allMatch(name -> name.equals(name.strip()));
        }
    }

    @Test
    void aBackupTakenWithTheBackupCommandIsRestoredIntoTheDataDirectoryOfTheEnvironment() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path copy = dir.resolve("copy.db");
        try (Store store = Store.open(data)) {
            store.createTunnel("from-the-backup");
        }
        assertThat(backup("--data", data.toString(), copy.toString())).isZero();
        try (Store store = Store.open(data)) {
            store.createTunnel("later");
        }

        Run run = restore(Map.of("PICOTUNNEL_DATA_DIR", data.toString()), copy.toString());

        assertThat(run.code()).as(run.err()).isZero();
        assertThat(run.out()).contains("Restored " + copy, data.resolve(Store.DATABASE_FILE).toString(),
                "picotunnel.db.before-restore-", "everyone signs in again", "Start the server.");
        try (Store store = Store.open(data)) {
            assertThat(store.tunnels()).extracting(Tunnel::name).containsExactly("from-the-backup");
        }
    }

    /**
     * The README's commands name files relative to the current directory ({@code ./demo-data}, {@code ./backup.db}):
     * their lines said "Backup written to /srv/./backup.db" and "There is no database at /srv/./data/picotunnel.db".
     */
    @Test
    void backupAndRestoreNameFilesWithoutDotSegments() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        try (Store store = Store.open(data)) {
            store.createTunnel("from-the-backup");
        }
        Path copy = dir.resolve("copy.db");

        Run backup = backupRun("--data", dir.resolve("./data").toString(), dir.resolve("./copy.db").toString());
        Run restore = restore(Map.of(), "--data", dir.resolve("./data").toString(), dir.resolve("./copy.db").toString());
        Run none = backupRun("--data", dir.resolve("./missing").toString(), dir.resolve("./other.db").toString());

        assertThat(backup.code()).as(backup.err()).isZero();
        assertThat(backup.out().strip()).isEqualTo("Backup written to " + copy);
        assertThat(restore.code()).as(restore.err()).isZero();
        assertThat(restore.out()).startsWith("Restored " + copy + " to " + data.resolve(Store.DATABASE_FILE) + ";");
        assertThat(none.err().strip()).startsWith("There is no database at " + dir.resolve("missing")
                .resolve(Store.DATABASE_FILE) + ";");
        assertThat(backup.out() + restore.out() + none.err()).doesNotContain("/./");
    }

    /**
     * A ".." after a symbolic link leads where the link's target is, not back where the text seems to: the file named
     * "link/../copy.db", link being real/sub, is real/copy.db, as the shell's ls shows it. Made lexically "copy.db"
     * beside the link, the backup was written where the user did not ask, and the restore read another file.
     */
    @Test
    void aDotDotAfterASymbolicLinkNamesTheFileTheSystemFinds() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        try (Store store = Store.open(data)) {
            store.createTunnel("through-the-link");
        }
        Path sub = Files.createDirectories(dir.resolve("real").resolve("sub"));
        Path link = Files.createSymbolicLink(dir.resolve("link"), sub);
        Path named = link.resolve("..").resolve("copy.db");

        Run backup = backupRun("--data", data.toString(), named.toString());

        assertThat(backup.code()).as(backup.err()).isZero();
        assertThat(dir.resolve("real").resolve("copy.db")).isRegularFile();
        assertThat(dir.resolve("copy.db")).as("beside the link").doesNotExist();
        assertThat(backup.out().strip()).isEqualTo("Backup written to " + named);

        Path restored = Files.createDirectories(dir.resolve("restored"));
        Run restore = restore(Map.of(), "--data", restored.toString(), named.toString());

        assertThat(restore.code()).as(restore.err()).isZero();
        assertThat(tunnels(restored)).containsExactly("through-the-link");
    }

    @Test
    void aFileThatIsNotABackupIsOneSentenceAndExitCode1() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Store.open(data).close();
        Path notABackup = Files.writeString(dir.resolve("notes.txt"), "hello".repeat(1000));

        Run run = restore(Map.of(), "--data", data.toString(), notABackup.toString());

        assertThat(run.code()).isEqualTo(ServerMain.EXIT_STARTUP_FAILED);
        assertThat(run.err().strip()).startsWith("Cannot restore " + notABackup).endsWith("Nothing was changed.")
                .doesNotContain("\n", "Exception");
    }

    @Test
    void aServerStartedWhileTheRestoreReplacesTheDatabaseIsRefusedByTheDataDirectoryLock() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path copy = backupOf(data, "from-the-backup");
        try (Store store = Store.open(data)) {
            store.createTunnel("later");
        }
        List<String> startedMidway = new ArrayList<>();
        String[] lockFile = new String[1];

        Run run = restoreWith(() -> {
            try {
                lockFile[0] = Files.readString(data.resolve(DataDirectoryLock.FILE_NAME));
                start(data).stop();
                startedMidway.add("started");
            } catch (StartupException | IOException e) {
                startedMidway.add(e.getMessage());
            }
        }, "--data", data.toString(), copy.toString());

        assertThat(run.code()).as(run.err()).isZero();
        assertThat(startedMidway).hasSize(1);
        assertThat(startedMidway.getFirst()).isEqualTo("The data directory " + data + " is being restored (process "
                + ProcessHandle.current().pid() + "): start the server once the restore has finished.");
        assertThat(lockFile[0]).as("what another process is told").isEqualTo(ProcessHandle.current().pid() + " restore\n");
        assertThat(tunnels(data)).containsExactly("from-the-backup");
        start(data).stop();
    }

    @Test
    void aRestoreWhileAServerRunsIsRefusedAskingToStopTheServerFirst() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path copy = backupOf(data, "from-the-backup");
        PicoTunnelServer server = start(data);
        Run run;
        try {
            run = restore(Map.of(), "--data", data.toString(), copy.toString());
        } finally {
            server.stop();
        }

        assertThat(run.code()).isEqualTo(ServerMain.EXIT_STARTUP_FAILED);
        assertThat(run.err().strip()).isEqualTo("The data directory " + data + " is in use by a PicoTunnel server"
                + " (process " + ProcessHandle.current().pid() + "): a restore replaces the database of a stopped server"
                + " only, so stop the server, then run the restore again.");
        try (Stream<Path> files = Files.list(data)) {
            assertThat(files).noneMatch(f -> f.getFileName().toString().contains("restor"));
        }
    }

    @Test
    void aSecondRestoreWhileOneRunsIsRefusedInARestoresWords() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path copy = backupOf(data, "from-the-backup");
        Run[] second = new Run[1];

        Run first = restoreWith(() -> second[0] = restore(Map.of(), "--data", data.toString(), copy.toString()),
                "--data", data.toString(), copy.toString());

        assertThat(first.code()).as(first.err()).isZero();
        assertThat(second[0].code()).isEqualTo(ServerMain.EXIT_STARTUP_FAILED);
        assertThat(second[0].err().strip()).isEqualTo("The data directory " + data + " is being restored by another"
                + " restore (process " + ProcessHandle.current().pid() + "): let it finish first, then restore again if"
                + " you still need to.");
    }

    @Test
    void aRestoreOrAServerInAnotherProcessIsNamedForWhatItIs() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path copy = backupOf(data, "from-the-backup");
        Path lock = data.resolve(DataDirectoryLock.FILE_NAME);

        try (LockFileProbe.Holder server = LockFileProbe.holdInAnotherProcess(lock)) {
            Run run = restore(Map.of(), "--data", data.toString(), copy.toString());
            assertThat(run.code()).isEqualTo(ServerMain.EXIT_STARTUP_FAILED);
            assertThat(run.err().strip()).startsWith("The data directory " + data + " is in use by a PicoTunnel server"
                    + " (process " + server.pid() + "): a restore replaces the database of a stopped server only");
        }
        try (LockFileProbe.Holder restore = LockFileProbe.holdAsARestoreInAnotherProcess(lock)) {
            assertThatThrownBy(() -> start(data)).isInstanceOf(StartupException.class).hasMessage("The data directory "
                    + data + " is being restored (process " + restore.pid() + "): start the server once the restore"
                    + " has finished.");
            Run run = restore(Map.of(), "--data", data.toString(), copy.toString());
            assertThat(run.err().strip()).startsWith("The data directory " + data + " is being restored by another"
                    + " restore (process " + restore.pid() + ")");
        }
    }

    @Test
    void runAsRootOnAFreshVolumeTheLockFileTheRestoreCreatesBelongsToTheDirectorysOwner() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root to give files away");
        Path copy = backupOf(Files.createDirectories(dir.resolve("elsewhere")), "from-the-backup");
        Path data = Files.createDirectories(dir.resolve("volume"));
        UserPrincipal server = data.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("10001");
        Files.setOwner(data, server);

        Run run = restore(Map.of(), "--data", data.toString(), copy.toString());

        assertThat(run.code()).as(run.err()).isZero();
        assertThat(Files.getOwner(data.resolve(DataDirectoryLock.FILE_NAME))).isEqualTo(server);
        assertThat(Files.getOwner(data.resolve(Store.DATABASE_FILE))).isEqualTo(server);
    }

    @Test
    void onAFreshVolumeTheOutputSaysWhomTheRestoredFileBelongsToAndHowToGiveItToTheServer() throws Exception {
        Path copy = backupOf(Files.createDirectories(dir.resolve("elsewhere")), "from-the-backup");
        Path data = Files.createDirectories(dir.resolve("volume"));

        Run run = restore(Map.of(), "--data", data.toString(), copy.toString());

        assertThat(run.code()).as(run.err()).isZero();
        Path database = data.resolve(Store.DATABASE_FILE);
        assertThat(run.out()).contains("picotunnel.db belongs to " + Files.getOwner(database).getName()
                + ", the data directory's owner", "chown 10001 " + database, "--owner UID[:GID]");
    }

    @Test
    void runAsRootOwnerGivesTheRestoredFileAndTheLockFileToThatUserAndGroup() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root to give files away");
        Path copy = backupOf(Files.createDirectories(dir.resolve("elsewhere")), "from-the-backup");
        Path data = Files.createDirectories(dir.resolve("volume"));

        Run run = restore(Map.of(), "--data", data.toString(), "--owner", "10001:10002", copy.toString());

        assertThat(run.code()).as(run.err()).isZero();
        assertThat(run.out()).doesNotContain("chown");
        for (Path file : List.of(data.resolve(Store.DATABASE_FILE), data.resolve(DataDirectoryLock.FILE_NAME))) {
            assertThat(Files.getOwner(file).getName()).as("%s", file).isEqualTo("10001");
            assertThat(Files.readAttributes(file, PosixFileAttributes.class).group().getName()).isEqualTo("10002");
        }
        assertThat(tunnels(data)).containsExactly("from-the-backup");
    }

    @Test
    void anOwnerThatIsNotUidOrUidColonGidIsQuotedWithItsControlCharactersWrittenOut() throws Exception {
        assertThat(restoreRefusingOwner("1:2:\u001b[2J\r\nforged"))
                .isEqualTo("--owner takes UID or UID:GID, such as 10001 or 10001:10001, not"
                + " '1:2:\\u001b[2J\\r\\nforged' (see picotunnel-server restore --help)" + System.lineSeparator());
    }

    @Test
    void anOwnerThatIsNoUserHereIsQuotedWithItsControlCharactersWrittenOut() throws Exception {
        assertThat(restoreRefusingOwner("no-such-user\u001b[2J"))
                .isEqualTo("--owner 'no-such-user\\u001b[2J': there is no such user or group here;"
                + " give numbers, such as 10001:10001 (see picotunnel-server restore --help)" + System.lineSeparator());
    }

    @Test
    void anOwnerThatIsNotUidOrUidColonGidIsTheUsageCode() throws Exception {
        assertThat(restoreRefusingOwner("1:2:3")).contains("--owner takes UID or UID:GID", "restore --help");
        try (Stream<Path> files = Files.list(dir.resolve("data"))) {
            assertThat(files).noneMatch(f -> f.getFileName().toString().contains("restor"));
        }
    }

    /** Restores a backup of DIR/data into DIR/data with {@code --owner owner}: refused as a usage error; its stderr. */
    private String restoreRefusingOwner(String owner) throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path copy = backupOf(data, "live");

        Run run = restore(Map.of(), "--data", data.toString(), "--owner", owner, copy.toString());

        assertThat(run.code()).isEqualTo(ServerMain.EXIT_USAGE);
        return run.err();
    }

    /**
     * Run where it may not write, the backup and the restore say so: the JDK's AccessDeniedException carries only the
     * path, and the sentences ended with it ("Cannot write the backup to B: DIR/.b.db.partial"). Root without
     * CAP_DAC_OVERRIDE (setpriv) is refused as any other user.
     */
    @Test
    void withoutThePermissionToWriteThereBackupAndRestoreSayPermissionDeniedAndOnWhat() throws Exception {
        assumeRootThatCanDropItsCapabilities();
        Path data = Files.createDirectories(dir.resolve("data"));
        Path copy = backupOf(data, "live");
        Path readOnly = Files.createDirectories(dir.resolve("read-only"));
        Path lockedData = Files.createDirectories(dir.resolve("read-only-data"));
        Path lockedDataWithLock = Files.createDirectories(dir.resolve("read-only-data-with-lock"));
        Files.createFile(lockedDataWithLock.resolve(DataDirectoryLock.FILE_NAME));
        for (Path directory : List.of(readOnly, lockedData, lockedDataWithLock)) {
            Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("r-xr-xr-x"));
        }

        Run backup = withoutDacOverride("backup", "--data", data.toString(), readOnly.resolve("b.db").toString());
        Run restore = withoutDacOverride("restore", "--data", lockedData.toString(), copy.toString());
        Run restoreWithLock = withoutDacOverride("restore", "--data", lockedDataWithLock.toString(), copy.toString());

        assertThat(backup.code()).as(backup.err()).isEqualTo(ServerMain.EXIT_STARTUP_FAILED);
        assertThat(backup.err()).contains("Cannot write the backup to " + readOnly.resolve("b.db")
                + ": permission denied on " + readOnly.resolve(".b.db.partial") + ".");
        assertThat(restore.code()).as(restore.err()).isEqualTo(ServerMain.EXIT_STARTUP_FAILED);
        assertThat(restore.err()).contains("to lock the data directory (permission denied on "
                + lockedData.resolve(DataDirectoryLock.FILE_NAME) + ").");
        assertThat(restoreWithLock.code()).as(restoreWithLock.err()).isEqualTo(ServerMain.EXIT_STARTUP_FAILED);
        assertThat(restoreWithLock.err()).contains("Cannot restore " + copy + " into " + lockedDataWithLock
                + ": permission denied on " + lockedDataWithLock.resolve(".picotunnel.db.restoring") + ".");
        try (Stream<Path> files = Files.list(readOnly)) {
            assertThat(files).isEmpty();
        }
    }

    /**
     * The server's data directory is 0700 and its database 0600: run as a user who may not read them, the backup said
     * "There is no database at DATA/picotunnel.db; pass the server's data directory with --data", of the right
     * directory, or SQLite's "Unable to open the database file"; a directory for the copy in one that this user may not
     * look into "does not exist".
     */
    @Test
    void aBackupByAUserWhoMayNotReadTheDatabaseSaysSoNotThatThereIsNone() throws Exception {
        assumeRootThatCanDropItsCapabilities();
        Path data = Files.createDirectories(dir.resolve("data"));
        backupOf(data, "live");
        Path database = data.resolve(Store.DATABASE_FILE);
        UserPrincipal server = dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("10001");
        Path closed = Files.createDirectories(dir.resolve("closed"));
        Path inClosed = Files.createDirectories(closed.resolve("backups"));
        Files.setOwner(closed, server);
        Files.setPosixFilePermissions(closed, PosixFilePermissions.fromString("rwx------"));

        Run intoClosed = withoutDacOverride("backup", "--data", data.toString(), inClosed.resolve("b.db").toString());
        Files.setOwner(database, server);
        Files.setPosixFilePermissions(database, PosixFilePermissions.fromString("rw-------"));
        Files.setPosixFilePermissions(data, PosixFilePermissions.fromString("rwxr-xr-x"));
        Run fileUnreadable = withoutDacOverride("backup", "--data", data.toString(), dir.resolve("a.db").toString());
        Files.setOwner(data, server);
        Files.setPosixFilePermissions(data, PosixFilePermissions.fromString("rwx------"));
        Run directoryClosed = withoutDacOverride("backup", "--data", data.toString(), dir.resolve("c.db").toString());

        assertThat(fileUnreadable.code()).as(fileUnreadable.err()).isEqualTo(ServerMain.EXIT_STARTUP_FAILED);
        assertThat(fileUnreadable.err()).contains("Cannot read the database " + database + ": permission denied on "
                + database + "; run the backup as the server's user or as root.");
        assertThat(directoryClosed.code()).as(directoryClosed.err()).isEqualTo(ServerMain.EXIT_STARTUP_FAILED);
        assertThat(directoryClosed.err()).contains("Cannot read the database " + database + ": permission denied on "
                + database + "; run the backup as the server's user or as root.").doesNotContain("no database");
        assertThat(intoClosed.code()).as(intoClosed.err()).isEqualTo(ServerMain.EXIT_STARTUP_FAILED);
        assertThat(intoClosed.err()).contains("Cannot write the backup to " + inClosed.resolve("b.db")
                + ": permission denied on " + inClosed + ".").doesNotContain("does not exist");
    }

    /**
     * A backup opens the database as the server does, and SQLite then creates its -wal and -shm beside it: from a data
     * directory it may not write, the backup printed SQLite's "[SQLITE_READONLY_DIRECTORY] Process does not have
     * permission to create a journal file..." (or "[SQLITE_CANTOPEN] Unable to open the database file").
     */
    @Test
    void aBackupFromADataDirectoryItMayNotWriteSaysSoNamingTheDirectory() throws Exception {
        assumeRootThatCanDropItsCapabilities();
        Path data = Files.createDirectories(dir.resolve("data"));
        backupOf(data, "live");
        Files.setPosixFilePermissions(data, PosixFilePermissions.fromString("r-xr-xr-x"));
        Path copy = dir.resolve("copy.db");

        Run backup = withoutDacOverride("backup", "--data", data.toString(), copy.toString());

        assertThat(backup.code()).as(backup.err()).isEqualTo(ServerMain.EXIT_STARTUP_FAILED);
        assertThat(backup.err()).isEqualTo("Cannot back up the database " + data.resolve(Store.DATABASE_FILE)
                + ": the data directory " + data + " is not writable, and SQLite must create its -wal and -shm files"
                + " there to read the database; run the backup as a user who may write there, such as the server's."
                + System.lineSeparator());
        assertThat(copy).doesNotExist();
    }

    /** Skips the test unless it runs as root with setpriv, for {@link #withoutDacOverride}. */
    private static void assumeRootThatCanDropItsCapabilities() {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root to drop its capabilities");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "needs setpriv");
    }

    /** ServerMain as a process run by root without the capability to write where file modes do not let it. */
    private static Run withoutDacOverride(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("/usr/bin/setpriv", "--bounding-set=-dac_override,-dac_read_search",
                ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java")
                        .toString()),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                ServerMain.class.getName()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().keySet().removeIf(key -> key.startsWith("PICOTUNNEL_"));
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).as("%s finished", command).isTrue();
        return new Run(process.exitValue(), output, output);
    }

    @Test
    void backupAndRestoreVersionPrintTheServersVersion() {
        for (String subcommand : List.of(BackupCommand.NAME, RestoreCommand.NAME)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            PrintStream print = new PrintStream(out, true, StandardCharsets.UTF_8);

            int code = ServerMain.subcommand(new String[] {subcommand, "--version"}, Map.of(), print, print)
                    .orElseThrow();

            assertThat(code).isZero();
            assertThat(out.toString(StandardCharsets.UTF_8).strip()).as(subcommand)
                    .isEqualTo("picotunnel-server " + Version.get());
        }
    }

    /**
     * The description is one paragraph, filled to the width: written as several strings, picocli began a line at
     * each, so that "Stop the" ended a line of its own in restore --help.
     */
    @Test
    void theHelpOfBackupAndRestoreDescribesThemInOneFilledParagraph() {
        for (String subcommand : List.of(BackupCommand.NAME, RestoreCommand.NAME)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            PrintStream print = new PrintStream(out, true, StandardCharsets.UTF_8);

            int code = ServerMain.subcommand(new String[] {subcommand, "--help"}, Map.of(), print, print).orElseThrow();

            assertThat(code).isZero();
            List<String> lines = out.toString(StandardCharsets.UTF_8).lines().toList();
            List<String> description = lines.subList(1, lines.indexOf(lines.stream()
                    .filter(line -> line.startsWith(" ")).findFirst().orElseThrow()));
            assertThat(description).as(subcommand).hasSizeGreaterThan(1);
            assertThat(description.subList(0, description.size() - 1)).as(subcommand)
                    .allSatisfy(line -> assertThat(line.length()).as(line).isGreaterThan(60));
        }
    }

    @Test
    void withoutAFileTheUsageCodeAndAPointerToHelp() {
        Run run = restore(Map.of(), "--data", dir.toString());

        assertThat(run.code()).isEqualTo(ServerMain.EXIT_USAGE);
        assertThat(run.err()).contains("FILE", "restore --help");
    }
}
