package io.picotunnel.server;

import io.picotunnel.protocol.config.StopSignals;
import io.picotunnel.server.auth.AdminToken;
import io.picotunnel.server.tls.Fifo;
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
 * directory (the lock file then names its process). A start that never ends (no one writes the FIFO) stands for one
 * that hangs: slow storage, a hung migration.
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
        stopDuringTheStartThenLetItFinish();
    }

    /** A grace of 0 resets open streams at once on a stop; it used to fail a stop during the start at once, with 1. */
    @Test
    void sigtermWhileTheServerStartsWithAGraceOfZeroStillWaitsForTheStartAndExitsZero() throws Exception {
        String output = stopDuringTheStartThenLetItFinish("--shutdown-grace", "0");

        assertThat(output).contains("it stops once started (waiting up to 30 s)").doesNotContain("did not finish");
    }

    /** Signals the held start, lets the start finish once the stop is logged, and returns the output of a clean stop. */
    private String stopDuringTheStartThenLetItFinish(String... flags) throws Exception {
        Path token = heldToken();
        Path log = dir.resolve("server.log");
        server = startHeldServer(log, flags);

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
        return output;
    }

    /**
     * A short grace (0 here, the shortest) does not shorten the wait for the start: that is the least start wait
     * ({@link SignalStop#MIN_START_WAIT}, {@link ShortStartWaitServerMain}'s 2 s here), after which a start that hangs
     * still ends the process, with 1.
     */
    @Test
    void sigtermWhileTheStartHangsWaitsForItForTheStartWaitThenSaysSoAndExitsOne() throws Exception {
        heldToken(); // never written
        Path log = dir.resolve("server.log");
        server = startHeldServer(ShortStartWaitServerMain.class, log, "--shutdown-grace", "0");

        long signalled = System.nanoTime();
        server.toHandle().destroy();

        // Well before the 30 s of the server's own process: the wait is the one given.
        assertThat(server.waitFor(20, TimeUnit.SECONDS))
                .as("exited though its start hangs; output:%n%s", Files.readString(log)).isTrue();
        Duration took = Duration.ofNanos(System.nanoTime() - signalled);
        String output = Files.readString(log);
        assertThat(server.exitValue()).as("a failed stop; output:%n%s", output).isEqualTo(ServerMain.EXIT_STOP_FAILED);
        assertThat(output).contains("Shutdown requested while the server is starting: it stops once started"
                        + " (waiting up to 2 s)", "the start did not finish within 2 s; exiting")
                .doesNotContain("management API on");
        assertThat(took).isGreaterThanOrEqualTo(ShortStartWaitServerMain.MIN_START_WAIT);
    }

    @Test
    void theStartWaitIsTheGraceWhenThatIsLonger() {
        Duration least = SignalStop.MIN_START_WAIT;
        assertThat(SignalStop.startWait(Duration.ZERO, least)).isEqualTo(least);
        assertThat(SignalStop.startWait(Duration.ofSeconds(2), least)).isEqualTo(least);
        assertThat(SignalStop.startWait(Duration.ofMinutes(2), least)).isEqualTo(Duration.ofMinutes(2));
    }

    @Test
    void secondSigtermWhileTheServerStartsSaysSoAndExitsAtOnce() throws Exception {
        heldToken(); // never written
        Path log = dir.resolve("server.log");
        server = startHeldServer(log); // the default grace, 30 s, is far longer than "at once"

        server.toHandle().destroy();
        await("the server takes the stop").atMost(Duration.ofSeconds(60))
                .until(() -> Files.readString(log).contains("Shutdown requested while"));
        long first = System.nanoTime(); // after the server's own clock for the first signal started
        await("a second signal later than the same request").atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(50))
                .until(() -> System.nanoTime() - first > StopSignals.SAME_REQUEST.toNanos());
        server.toHandle().destroy();

        assertThat(server.waitFor(10, TimeUnit.SECONDS)).as("exited at once; output:%n%s", Files.readString(log))
                .isTrue();
        String output = Files.readString(log);
        assertThat(server.exitValue()).as("a stop asked for twice; output:%n%s", output).isZero();
        assertThat(output).contains(
                "Second signal while the server is starting: exiting now, without waiting for the start");
        // One line for one signal: not also the line for a server that runs, which resets streams it has not got.
        assertThat(output).doesNotContain(StopSignals.CUT_SHORT, "resetting the open streams");
    }

    /** The admin token file as a FIFO: the start waits at it until someone writes it. */
    private Path heldToken() throws Exception {
        Path token = Files.createDirectories(dir.resolve("data")).resolve(AdminToken.FILE_NAME);
        try {
            return Fifo.make(token).path();
        } catch (IOException e) {
            assumeTrue(false, "mkfifo works here: " + e.getMessage());
            throw e;
        }
    }

    /** A server process whose start has reached its admin token and waits there. */
    private Process startHeldServer(Path log, String... flags) throws Exception {
        return startHeldServer(ServerMain.class, log, flags);
    }

    /** {@link #startHeldServer(Path, String...)} run by {@code main}'s main method. */
    private Process startHeldServer(Class<?> main, Path log, String... flags) throws Exception {
        Path data = dir.resolve("data");
        Process started = startServer(main, data, log, flags);
        Path lock = data.resolve(DataDirectoryLock.FILE_NAME);
        await("the server locks its data directory").atMost(Duration.ofSeconds(60))
                .until(() -> Files.isRegularFile(lock)
                        && Files.readString(lock).strip().equals(Long.toString(started.pid())));
        return started;
    }

    private Process startServer(Class<?> main, Path data, Path log, String... flags) throws IOException {
        List<String> command = new ArrayList<>(List.of(
                ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java")
                        .toString()),
                "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-cp", System.getProperty("java.class.path"), main.getName(), "--data", data.toString()));
        for (String flag : List.of("--listen-addr", "--tunnel-addr", "--http-addr", "--https-addr")) {
            command.addAll(List.of(flag, "127.0.0.1:0"));
        }
        command.addAll(List.of(flags));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        builder.environment().keySet().removeIf(key -> key.startsWith("PICOTUNNEL_"));
        return builder.start();
    }
}
