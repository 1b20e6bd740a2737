package io.picotunnel.server;

import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.store.Store;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The server on a data directory whose file system is full: a file system of 4 MiB of its own (tmpfs), filled up, so
 * that the machine's is not. Skipped where no tmpfs can be mounted (root with CAP_SYS_ADMIN is needed).
 */
class FullDiskTest {

    private static final String TOKEN = "0123456789abcdef0123";

    @TempDir
    Path dir;
    private Path disk;
    private boolean mounted;

    @BeforeEach
    void mount() throws Exception {
        disk = Files.createDirectories(dir.resolve("disk"));
        mounted = command("mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", disk.toString());
        assumeTrue(mounted, "a tmpfs can be mounted here");
    }

    @AfterEach
    void unmount() throws Exception {
        if (mounted) {
            command("umount", disk.toString());
        }
    }

    private static boolean command(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        process.getInputStream().transferTo(OutputStream.nullOutputStream());
        return process.waitFor(30, TimeUnit.SECONDS) && process.exitValue() == 0;
    }

    record Run(int exitCode, String err) {
    }

    private static Run start(Path data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        String[] args = {"--data", data.toString(), "--admin-token", TOKEN, "--listen-addr", "127.0.0.1:0",
            "--tunnel-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--https-addr", "127.0.0.1:0"};
        int code = ServerMain.run(args, Map.of(), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), server -> { });
        return new Run(code, err.toString(StandardCharsets.UTF_8));
    }

    /** Fills the file system but for {@code leftKib} KiB. */
    private Path fillLeaving(int leftKib) throws IOException {
        Path reserve = Files.write(disk.resolve("reserve"), new byte[leftKib * 1024]);
        Path filler = disk.resolve("filler");
        assertThatThrownBy(() -> {
            try (OutputStream out = Files.newOutputStream(filler)) {
                byte[] block = new byte[4096];
                for (int i = 0; i < 2048; i++) {
                    out.write(block);
                    out.flush();
                }
            }
        }).as("the disk fills up").isInstanceOf(IOException.class);
        Files.delete(reserve);
        return filler;
    }

    private static void assertSaysTheDiskIsFull(Run run, Path database) {
        assertThat(run.exitCode()).as(run.err()).isEqualTo(ServerMain.EXIT_STARTUP_FAILED);
        assertThat(run.err()).contains(database.toString(), "the file system it is on is full", "free some space")
                .doesNotContain("disk I/O error").doesNotContain("SQLITE");
        assertThat(run.err().strip()).doesNotContain("\n").endsWith(".");
    }

    /**
     * SQLite says "database is full" of the copy it cannot write: the backup said "The backup of DATA/picotunnel.db
     * failed: [SQLITE_FULL] Insertion failed because database is full", as if the server's database were.
     */
    @Test
    void aBackupOntoAFullDiskSaysThatDiskIsFullNotTheDatabaseAndLeavesNoPartialCopy() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        try (io.picotunnel.server.store.Store store = io.picotunnel.server.store.Store.open(data)) {
            store.createTunnel("kept");
        }
        fillLeaving(8);
        Path target = disk.resolve("backup.db");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();

        int code = ServerMain.subcommand(new String[] {"backup", "--data", data.toString(), target.toString()}, Map.of(),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8))
                .orElseThrow();

        String said = err.toString(StandardCharsets.UTF_8);
        assertThat(code).as(said).isEqualTo(ServerMain.EXIT_STARTUP_FAILED);
        assertThat(said.strip()).isEqualTo("Cannot write the backup to " + target + ": the file system it is on is"
                + " full; free some space there or write the backup elsewhere.");
        try (java.util.stream.Stream<Path> files = Files.list(disk)) {
            assertThat(files).extracting(f -> f.getFileName().toString()).containsExactly("filler");
        }
    }

    @Test
    void aRestartOnAFullDiskSaysTheDiskIsFullNotThatItFailsThenStartsOnceThereIsRoom() throws Exception {
        Path data = disk.resolve("data");
        assertThat(start(data).exitCode()).isZero();
        Path filler = fillLeaving(0);

        Run full = start(data);

        // Said before as "SQLite had a disk I/O error (I/O error within xShmMap ...): check the disk ... (dmesg shows
        // the kernel's errors, such as a failing disk ...)".
        assertSaysTheDiskIsFull(full, data.resolve(Store.DATABASE_FILE));
        Files.delete(filler);
        assertThat(start(data).exitCode()).isZero();
    }

    @Test
    void aFirstStartWithTooLittleRoomForTheDatabaseSaysTheDiskIsFullThenStartsOnceThereIsRoom() throws Exception {
        Path data = disk.resolve("data");
        Path filler = fillLeaving(64);

        Run full = start(data);

        // Said before as "Database error: [SQLITE_FULL] Insertion failed because database is full (database or disk
        // is full)", naming no file.
        assertSaysTheDiskIsFull(full, data.resolve(Store.DATABASE_FILE));
        Files.delete(filler);
        assertThat(start(data).exitCode()).isZero();
        try (Store store = Store.open(data)) {
            assertThat(store.tunnels()).isEmpty();
        }
    }

    @Test
    void aChangeWhileTheDiskIsFullIs507DiskFullAndWorksOnceThereIsRoom() throws Exception {
        Path data = disk.resolve("data");
        try (PicoTunnelServer server = PicoTunnelServer.start(ServerConfig.ephemeral(data,
                Map.of(Setting.ADMIN_TOKEN, TOKEN)))) {
            ApiClient api = new ApiClient(server.apiPort(), TOKEN);
            assertThat(api.post("/api/tunnels", "{\"name\": \"before\"}").status()).isEqualTo(201);
            Path filler = fillLeaving(0);

            ApiClient.Response refused = api.post("/api/tunnels", "{\"name\": \"full\"}");

            // Was 500 internal_error, "the server failed to handle this request; see its log".
            assertThat(refused.status()).as("%s", refused).isEqualTo(507);
            assertThat(refused.json().get("error").asText()).isEqualTo("disk_full");
            assertThat(refused.json().get("message").asText()).contains("disk", "full", "nothing was changed");
            Files.delete(filler);
            assertThat(api.post("/api/tunnels", "{\"name\": \"after\"}").status()).isEqualTo(201);
            assertThat(api.get("/api/tunnels").json()).extracting(tunnel -> tunnel.get("name").asText())
                    .containsExactly("before", "after");
        }
    }

    @Test
    void withRoomEnoughTheServerStarts() throws Exception {
        Path data = disk.resolve("data");
        fillLeaving(1024);

        Run run = start(data);

        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(data.resolve(Store.DATABASE_FILE)).isNotEmptyFile();
    }
}
