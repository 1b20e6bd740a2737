package io.picotunnel.server;

import ch.qos.logback.classic.Level;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The directory of the server's own that sqlite-jdbc extracts its native library into, in this JVM. */
class SqliteTempDirectoryTest {

    @TempDir
    Path dir;

    private String propertyBefore;

    @BeforeEach
    void keepTheProperty() {
        propertyBefore = System.getProperty(SqliteTempDirectory.PROPERTY);
    }

    @AfterEach
    void restoreTheProperty() {
        if (propertyBefore == null) {
            System.clearProperty(SqliteTempDirectory.PROPERTY);
        } else {
            System.setProperty(SqliteTempDirectory.PROPERTY, propertyBefore);
        }
    }

    /** The operator's directory is theirs: the server's is made in it, and deleted with what sqlite-jdbc put there. */
    @Test
    void anOperatorsDirectoryGetsOneOfTheServersOwnInItWhichADeleteRemoves() throws Exception {
        System.setProperty(SqliteTempDirectory.PROPERTY, dir.toString());

        Optional<SqliteTempDirectory> made = SqliteTempDirectory.create();

        assertThat(made).isPresent();
        Path own = Path.of(System.getProperty(SqliteTempDirectory.PROPERTY));
        assertThat(own.getParent()).isEqualTo(dir);
        assertThat(own.getFileName().toString()).startsWith("picotunnel-sqlite-");
        Files.writeString(own.resolve("sqlite-3-libsqlitejdbc.so.lck"), "");
        made.get().deleteQuietly();
        assertThat(SqliteTempFiles.in(dir)).isEmpty();
    }

    /**
     * A killed server (SIGKILL, the OOM killer) runs no hook and leaves its directory, named for its pid. A start
     * deletes none but its own: in a temporary directory shared with other users a name checked as a directory could
     * be swapped for a link to the server's data before it was emptied, and a pid says nothing across pid namespaces.
     */
    @Test
    void aStartLeavesEveryOtherDirectoryAloneEvenOneOfAProcessThatIsGone() throws Exception {
        System.setProperty(SqliteTempDirectory.PROPERTY, dir.toString());
        Path killed = leftover(SqliteTempDirectory.PREFIX + goneProcessPid() + "-123");
        Path older = leftover(SqliteTempDirectory.PREFIX + "789");

        Optional<SqliteTempDirectory> made = SqliteTempDirectory.create();

        assertThat(made).isPresent();
        assertThat(killed.resolve("sqlite-3-libsqlitejdbc.so.lck")).exists();
        assertThat(older.resolve("sqlite-3-libsqlitejdbc.so.lck")).exists();
        assertThat(Path.of(System.getProperty(SqliteTempDirectory.PROPERTY)).getFileName().toString())
                .startsWith(SqliteTempDirectory.PREFIX + ProcessHandle.current().pid() + "-");
        made.get().deleteQuietly();
    }

    /**
     * The JVM already exiting when the server sets up its stop (a signal during the settings): the hook cannot be
     * added, and the directory, made just before, stayed. Reached without timing: set up from a shutdown hook.
     */
    @Test
    void aStopSetUpWhileTheJvmExitsLeavesNoDirectory() throws Exception {
        Path log = dir.resolve("out.log");
        Path temp = dir.resolve("tmp");
        Process process = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(),
                SqliteTempFiles.prepare(temp, SqliteTempFiles.OPERATORS), "-cp", System.getProperty("java.class.path"),
                SetUpWhileExiting.class.getName()).redirectErrorStream(true).redirectOutput(log.toFile()).start();

        assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("ended").isTrue();
        assertThat(Files.readString(log)).contains("IllegalStateException: Shutdown in progress");
        SqliteTempFiles.assertNoneLeft(temp, SqliteTempFiles.OPERATORS);
    }

    /** A process that sets up the server's stop while it exits, from a shutdown hook. */
    static final class SetUpWhileExiting {
        public static void main(String[] args) {
            Runtime.getRuntime().addShutdownHook(
                    new Thread(() -> SignalStop.install(Duration.ZERO, Duration.ofSeconds(1))));
        }
    }

    private Path leftover(String name) throws Exception {
        Path leftover = Files.createDirectory(dir.resolve(name));
        Files.writeString(leftover.resolve("sqlite-3-libsqlitejdbc.so.lck"), "");
        return leftover;
    }

    /** The pid of a process that has ended: one this test started and waited for. */
    private static long goneProcessPid() throws Exception {
        Process ended = new ProcessBuilder("true").start();
        assertThat(ended.waitFor(20, TimeUnit.SECONDS)).as("true ended").isTrue();
        assumeTrue(ProcessHandle.of(ended.pid()).isEmpty(), "its pid not taken again yet");
        return ended.pid();
    }

    /**
     * It failed without a word. The warning says what could not be made and why, and no more: what sqlite-jdbc then
     * does depends on the cause (a missing operator's directory fails the start).
     */
    @Test
    void aDirectoryThatCannotBeMadeIsOneWarningAndLeavesTheSettingAsItWas() {
        String missing = dir.resolve("missing").toString();
        System.setProperty(SqliteTempDirectory.PROPERTY, missing);

        try (LogCapture logged = new LogCapture(SqliteTempDirectory.class, Level.WARN)) {
            assertThat(SqliteTempDirectory.create()).isEmpty();

            assertThat(logged.events()).singleElement().satisfies(event -> {
                assertThat(event.getLevel()).isEqualTo(Level.WARN);
                assertThat(event.getFormattedMessage()).startsWith("Cannot make a directory for sqlite-jdbc's native"
                        + " library in " + missing + ": java.nio.file.NoSuchFileException: "
                        + Path.of(missing, SqliteTempDirectory.PREFIX + ProcessHandle.current().pid() + "-"));
            });
        }
        assertThat(System.getProperty(SqliteTempDirectory.PROPERTY)).isEqualTo(missing);
    }
}
