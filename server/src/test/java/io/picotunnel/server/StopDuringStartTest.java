package io.picotunnel.server;

import io.picotunnel.protocol.config.StopSignals;
import io.picotunnel.server.files.Fifo;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.Store;
import io.picotunnel.server.store.TlsMode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * SIGTERM while the server process is still starting, before it used to set up its stop: the JVM ended with 143 and
 * no log line, where the README says a stopped server exits 0. The start is held at a known point: a listener of
 * the services ({@link HeldStartServerMain}) reads a FIFO, whose open for reading waits for a writer, as the start
 * replays a stored service to it, once it has locked the data directory (the lock file then names its process, which
 * the test waits for), read the admin token and opened the store; the signal may so come before the start reaches the
 * hold, still during the start. The admin token file no longer holds it: a FIFO there stops the start with an error,
 * at once or, put there as the file is read, after a timeout. A start that never ends (no one writes the FIFO) stands
 * for one that hangs: slow storage, a listener stuck.
 */
class StopDuringStartTest {

    /**
     * The server process's temporary directory for sqlite-jdbc, in {@link #dir}, given to it as its java.io.tmpdir or
     * as an operator's org.sqlite.tmpdir ({@link SqliteTempFiles}): the server makes a directory of its own in either.
     */
    private static final String TEMP = "tmp";

    @TempDir
    Path dir;

    private Process server;
    private Fifo hold;
    private CompletableFuture<Void> released;

    @AfterEach
    void cleanUp() throws Exception {
        if (server != null) {
            server.destroyForcibly().waitFor(20, TimeUnit.SECONDS);
        }
        if (released != null) {
            // The writer waits for a reader should the server have gone before it read: an open read-write (which does
            // not wait) lets it go; again until it has, as it may not have begun to wait yet.
            await("the hold's writer let go").atMost(Duration.ofSeconds(20)).until(() -> {
                hold.close();
                return released.isDone();
            });
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {SqliteTempFiles.DEFAULT, SqliteTempFiles.OPERATORS})
    void sigtermWhileTheServerStartsStopsWhatItStartedLogsItAndExitsZero(String temp) throws Exception {
        stopDuringTheStartThenLetItFinish(temp);
    }

    /** A grace of 0 resets open streams at once on a stop; it used to fail a stop during the start at once, with 1. */
    @Test
    void sigtermWhileTheServerStartsWithAGraceOfZeroStillWaitsForTheStartAndExitsZero() throws Exception {
        String output = stopDuringTheStartThenLetItFinish(SqliteTempFiles.DEFAULT, "--shutdown-grace", "0");

        assertThat(output).contains("it stops once started (waiting up to 30 s)").doesNotContain("did not finish");
    }

    /**
     * Signals the held start, lets the start finish once the stop is logged, and returns the output of a clean stop;
     * {@code temp}, the property giving the server its temporary directory for sqlite-jdbc.
     */
    private String stopDuringTheStartThenLetItFinish(String temp, String... flags) throws Exception {
        Path log = dir.resolve("server.log");
        server = startHeldServer(false, temp, log, flags);

        server.toHandle().destroy(); // SIGTERM, as systemctl stop or docker stop, while the start is held
        await("the server takes the stop, or ends").atMost(Duration.ofSeconds(60))
                .until(() -> !server.isAlive() || Files.readString(log).contains("Shutdown requested while"));
        if (server.isAlive()) {
            releaseTheStart();
        }

        assertThat(server.waitFor(60, TimeUnit.SECONDS)).as("stopped").isTrue();
        String output = Files.readString(log);
        assertThat(server.exitValue()).as("a clean stop; output:%n%s", output).isZero();
        assertThat(output).contains("Shutdown requested while the server is starting: it stops once started",
                "management API on", "Shutdown requested: taking no new visitors or tunnel clients", "Stopped");
        // The stop's own line: "Stopped" alone would also match a stack trace (ServerMain.runUntilStopped).
        assertThat(output.lines().filter(line -> line.endsWith(" SignalStop - Stopped")).count())
                .as("one stop line; output:%n%s", output).isOne();
        assertThat(output.indexOf(" SignalStop - Stopped")).as("stopped once started; output:%n%s", output)
                .isGreaterThan(output.indexOf("management API on"));
        assertNoSqliteLibraryLeft(temp);
        return output;
    }

    /** Nothing of sqlite-jdbc's is left in {@link #TEMP}, given to the process as {@code temp}. */
    private void assertNoSqliteLibraryLeft(String temp) throws IOException {
        SqliteTempFiles.assertNoneLeft(dir.resolve(TEMP), temp);
    }

    /** Lets the held start go on: waits for the server's read, which may not have begun yet. */
    private void releaseTheStart() {
        released = CompletableFuture.runAsync(() -> {
            try {
                Files.writeString(hold.path(), "go\n");
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    /**
     * SIGHUP is the JVM's own (129), not {@link StopSignals}': the hook stops the server as for SIGTERM, and when the
     * start then fails its code is the process's. It once ended with 129, when the hook returned instead of halting
     * for an exit asked for with the same code as the stop's, though asked while the JVM's own was under way. The
     * hook halts, and leaves nothing of sqlite-jdbc's, in an operator's org.sqlite.tmpdir too.
     */
    @ParameterizedTest
    @ValueSource(strings = {SqliteTempFiles.DEFAULT, SqliteTempFiles.OPERATORS})
    void sighupWhileTheStartGoesOnToFailEndsTheProcessWithTheStartsCode(String temp) throws Exception {
        Path log = dir.resolve("server.log");
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            server = startHeldServer(false, temp, log, "--listen-addr", "127.0.0.1:" + taken.getLocalPort());

            Process hangUp = new ProcessBuilder("kill", "-HUP", Long.toString(server.pid())).inheritIO().start();
            assertThat(hangUp.waitFor(10, TimeUnit.SECONDS) && hangUp.exitValue() == 0).as("kill -HUP").isTrue();
            await("the server takes the stop").atMost(Duration.ofSeconds(60))
                    .until(() -> Files.readString(log).contains("Shutdown requested while"));
            releaseTheStart();

            assertThat(server.waitFor(60, TimeUnit.SECONDS)).as("ended; output:%n%s", Files.readString(log)).isTrue();
            String output = Files.readString(log);
            assertThat(output).contains("is already in use (--listen-addr");
            assertThat(server.exitValue()).as("the failed start's code; output:%n%s", output)
                    .isEqualTo(ServerMain.EXIT_STARTUP_FAILED);
        }
        assertNoSqliteLibraryLeft(temp);
    }

    /**
     * A short grace (0 here, the shortest) does not shorten the wait for the start: that is the least start wait
     * ({@link SignalStop#MIN_START_WAIT}, {@link HeldStartServerMain#MIN_START_WAIT}'s 2 s here), after which a start
     * that hangs still ends the process, with 1, and leaves nothing of sqlite-jdbc's, in an operator's
     * org.sqlite.tmpdir too.
     */
    @ParameterizedTest
    @ValueSource(strings = {SqliteTempFiles.DEFAULT, SqliteTempFiles.OPERATORS})
    void sigtermWhileTheStartHangsWaitsForItForTheStartWaitThenSaysSoAndExitsOne(String temp) throws Exception {
        Path log = dir.resolve("server.log");
        // The hold never written.
        server = startHeldServer(true, temp, log, "--shutdown-grace", "0");

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
        assertThat(took).isGreaterThanOrEqualTo(HeldStartServerMain.MIN_START_WAIT);
        assertNoSqliteLibraryLeft(temp);
    }

    /**
     * A start that throws (a bug, not a setting or the data) ends the process with 1 and its stack trace, as an
     * uncaught exception did, and leaves nothing of sqlite-jdbc's.
     */
    @Test
    void aStartThatThrowsEndsTheProcessWithOneAndLeavesNoSqliteLibraryInTheTemporaryDirectory() throws Exception {
        Path log = dir.resolve("server.log");
        server = startServer(dataWithAStoredService(), log, List.of(
                "-D" + HeldStartServerMain.HOLD + "=" + dir.resolve("hold"), "-D" + HeldStartServerMain.THROW + "=true",
                SqliteTempFiles.prepare(dir.resolve(TEMP), SqliteTempFiles.DEFAULT)));

        assertThat(server.waitFor(60, TimeUnit.SECONDS)).as("ended; output:%n%s", Files.readString(log)).isTrue();
        String output = Files.readString(log);
        assertThat(server.exitValue()).as("output:%n%s", output).isEqualTo(ServerMain.EXIT_STARTUP_FAILED);
        assertThat(output).contains("Exception in thread \"main\" java.lang.IllegalStateException: a start that throws");
        assertNoSqliteLibraryLeft(SqliteTempFiles.DEFAULT);
    }

    @Test
    void theStartWaitIsTheGraceWhenThatIsLonger() {
        Duration least = SignalStop.MIN_START_WAIT;
        assertThat(SignalStop.startWait(Duration.ZERO, least)).isEqualTo(least);
        assertThat(SignalStop.startWait(Duration.ofSeconds(2), least)).isEqualTo(least);
        assertThat(SignalStop.startWait(Duration.ofMinutes(2), least)).isEqualTo(Duration.ofMinutes(2));
    }

    /** It halts the process: nothing of sqlite-jdbc's is left all the same, in an operator's org.sqlite.tmpdir too. */
    @ParameterizedTest
    @ValueSource(strings = {SqliteTempFiles.DEFAULT, SqliteTempFiles.OPERATORS})
    void secondSigtermWhileTheServerStartsSaysSoAndExitsAtOnce(String temp) throws Exception {
        Path log = dir.resolve("server.log");
        // The hold never written; the default grace, 30 s, is far longer than "at once".
        server = startHeldServer(false, temp, log);

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
        assertNoSqliteLibraryLeft(temp);
    }

    /**
     * A server process whose start has locked its data directory and goes on to wait at {@link #hold}, waiting for a
     * held start {@code shortStartWait} if true, and given {@link #TEMP} as the property {@code temp} ({@link
     * SqliteTempFiles#prepare}).
     */
    private Process startHeldServer(boolean shortStartWait, String temp, Path log, String... flags) throws Exception {
        Path data = dataWithAStoredService();
        try {
            hold = Fifo.make(dir.resolve("hold"));
        } catch (IOException e) {
            assumeTrue(false, "mkfifo works here: " + e.getMessage());
            throw e;
        }
        Path tempDir = dir.resolve(TEMP);
        Process started = startServer(data, log, List.of("-D" + HeldStartServerMain.HOLD + "=" + hold.path(),
                SqliteTempFiles.prepare(tempDir, temp),
                "-D" + HeldStartServerMain.SHORT_START_WAIT + "=" + shortStartWait), flags);
        Path lock = data.resolve(DataDirectoryLock.FILE_NAME);
        await("the server locks its data directory").atMost(Duration.ofSeconds(60))
                .until(() -> Files.isRegularFile(lock)
                        && Files.readString(lock).strip().equals(Long.toString(started.pid())));
        // The store opens after the lock, before the hold: the library is there while the server runs, in the
        // server's own directory (that nothing of it is left at the end is what the tests check).
        String library = Pattern.quote(SqliteTempDirectory.PREFIX + started.pid() + "-")
                + "\\d+/sqlite-[^/]+jdbc\\.[a-z]+";
        await("sqlite-jdbc's library in the server's directory").atMost(Duration.ofSeconds(60))
                .until(() -> SqliteTempFiles.in(tempDir).stream().anyMatch(name -> name.matches(library)));
        return started;
    }

    /** A data directory with a stored service, for the start to replay to the holding listener. */
    private Path dataWithAStoredService() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        try (Store store = Store.open(data)) {
            String tunnel = store.createTunnel("held").id();
            store.createService(new Service(null, tunnel, ServiceType.HTTP, "held.example.test", "/",
                    TlsMode.TERMINATE, null, "localhost:8080", true, null));
        }
        return data;
    }

    private Process startServer(Path data, Path log, List<String> properties, String... flags) throws IOException {
        List<String> command = new ArrayList<>(List.of(
                ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java")
                        .toString()),
                "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"));
        command.addAll(properties);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), HeldStartServerMain.class.getName(),
                "--data", data.toString()));
        for (String flag : List.of("--listen-addr", "--tunnel-addr", "--http-addr", "--https-addr")) {
            if (!List.of(flags).contains(flag)) {
                command.addAll(List.of(flag, "127.0.0.1:0"));
            }
        }
        command.addAll(List.of(flags));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        builder.environment().keySet().removeIf(key -> key.startsWith("PICOTUNNEL_"));
        return builder.start();
    }
}
