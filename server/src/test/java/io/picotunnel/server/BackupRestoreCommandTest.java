package io.picotunnel.server;

import io.picotunnel.server.store.Store;
import io.picotunnel.server.store.Tunnel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

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

    private static int backup(String... args) {
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        String[] command = new String[args.length + 1];
        command[0] = "backup";
        System.arraycopy(args, 0, command, 1, args.length);
        return ServerMain.subcommand(command, Map.of(), quiet, quiet).orElseThrow();
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
    void withoutAFileTheUsageCodeAndAPointerToHelp() {
        Run run = restore(Map.of(), "--data", dir.toString());

        assertThat(run.code()).isEqualTo(ServerMain.EXIT_USAGE);
        assertThat(run.err()).contains("FILE", "restore --help");
    }
}
