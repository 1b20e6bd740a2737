package io.picotunnel.server;

import io.picotunnel.server.auth.AdminToken;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * SIGTERM while the server process is still starting, before it used to set up its stop: the JVM ended with 143 and
 * no log line, where the README says a stopped server exits 0. The start is held at a known point: the admin token
 * file is a FIFO, whose open for reading waits for a writer, and the server reads it after it has locked its data
 * directory (the lock file then names its process).
 */
class StopDuringStartTest {

    private static final String ADMIN_TOKEN = "held-start-admin-token";

    @TempDir
    Path dir;

    private Process server;
    private CompletableFuture<Void> tokenWritten;

    @AfterEach
    void cleanUp() throws Exception {
        if (server != null) {
            server.destroyForcibly().waitFor(20, TimeUnit.SECONDS);
        }
        if (tokenWritten != null && !tokenWritten.isDone()) {
            // The writer waits for a reader: this one lets it go.
            try (InputStream reader = Files.newInputStream(dir.resolve("data").resolve(AdminToken.FILE_NAME))) {
                reader.readAllBytes();
            }
        }
    }

    @Test
    void sigtermWhileTheServerStartsStopsWhatItStartedLogsItAndExitsZero() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path token = data.resolve(AdminToken.FILE_NAME);
        assumeTrue(mkfifo(token), "mkfifo works here");
        Path log = dir.resolve("server.log");
        server = startServer(data, log);
        Path lock = data.resolve(DataDirectoryLock.FILE_NAME);
        await("the server locks its data directory").atMost(Duration.ofSeconds(60))
                .until(() -> Files.isRegularFile(lock)
                        && Files.readString(lock).strip().equals(Long.toString(server.pid())));

        server.toHandle().destroy(); // SIGTERM, as systemctl stop or docker stop, while the start waits for the token
        await("the server takes the stop, or ends").atMost(Duration.ofSeconds(60))
                .until(() -> !server.isAlive() || Files.readString(log).contains("Shutdown requested while"));
        if (server.isAlive()) {
            tokenWritten = CompletableFuture.runAsync(() -> {
                try {
                    Files.writeString(token, ADMIN_TOKEN + "\n");
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        }

        assertThat(server.waitFor(60, TimeUnit.SECONDS)).as("stopped").isTrue();
        String output = Files.readString(log);
        assertThat(server.exitValue()).as("a clean stop; output:%n%s", output).isZero();
        assertThat(output).contains("Shutdown requested while the server is starting: it stops once started",
                "management API on", "Shutdown requested: taking no new visitors or tunnel clients", "Stopped");
        assertThat(output.indexOf("Stopped")).isGreaterThan(output.indexOf("management API on"));
    }

    private Process startServer(Path data, Path log) throws IOException {
        List<String> command = new ArrayList<>(List.of(
                ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java")
                        .toString()),
                "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-cp", System.getProperty("java.class.path"), ServerMain.class.getName(), "--data", data.toString()));
        for (String flag : List.of("--listen-addr", "--tunnel-addr", "--http-addr", "--https-addr")) {
            command.addAll(List.of(flag, "127.0.0.1:0"));
        }
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        builder.environment().keySet().removeIf(key -> key.startsWith("PICOTUNNEL_"));
        return builder.start();
    }

    private static boolean mkfifo(Path file) throws InterruptedException {
        try {
            Process mkfifo = new ProcessBuilder("mkfifo", file.toString()).redirectErrorStream(true).start();
            mkfifo.getInputStream().readAllBytes();
            return mkfifo.waitFor(30, TimeUnit.SECONDS) && mkfifo.exitValue() == 0;
        } catch (IOException e) {
            return false;
        }
    }
}
