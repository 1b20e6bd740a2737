package io.picotunnel.server;

import ch.qos.logback.classic.Level;
import io.picotunnel.testkit.ImmutableFile;
import io.picotunnel.testkit.LogCapture;
import org.assertj.core.api.ThrowingConsumer;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The directory of the server's own that sqlite-jdbc extracts its native library into, in this JVM. */
class SqliteTempDirectoryTest {

    /** sqlite-jdbc's names for its library and its lock (sqlite-version-uuid-library). */
    private static final String LIBRARY = "sqlite-3.50.3.0-0f8fad5b-d9cb-469f-a165-70867728950e-"
            + System.mapLibraryName("sqlitejdbc");
    private static final String LOCK = LIBRARY + ".lck";

    @TempDir
    Path dir;

    private String propertyBefore;
    private final List<SqliteTempDirectory> started = new ArrayList<>();

    @BeforeEach
    void keepTheProperty() {
        propertyBefore = System.getProperty(SqliteTempDirectory.PROPERTY);
    }

    @AfterEach
    void restoreTheProperty() {
        started.forEach(SqliteTempDirectory::deleteQuietly);
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
     * A killed server (SIGKILL, the OOM killer) runs no hook and leaves its directory, named for its pid, about 1 MB a
     * kill. The next start in the same parent deletes it once no process has that pid; names without a pid (older
     * versions', whose server may still run) are left.
     */
    @Test
    void aStartDeletesTheDirectoryOfAProcessThatIsGoneAndLeavesOlderNames() throws Exception {
        Path killed = leftover(SqliteTempDirectory.PREFIX + goneProcessPid() + "-123");
        Path older = leftover(SqliteTempDirectory.PREFIX + "789");

        Path own = start();

        assertThat(killed).doesNotExist();
        assertThat(older.resolve(LOCK)).exists();
        assertThat(own.getFileName().toString())
                .startsWith(SqliteTempDirectory.PREFIX + ProcessHandle.current().pid() + "-");
    }

    /**
     * A halt (kill -9) in a stop's or a clean-up's deletions, which delete the lock file last, or in a start leaves the
     * lock file with part of sqlite-jdbc's files, the lock file alone, or nothing: a later start takes each, the last
     * two once unchanged for longer than a start stays before it locks its lock file.
     */
    @Test
    void everyStateAHaltLeavesIsTakenByALaterStart() throws Exception {
        long gone = goneProcessPid();
        List<Path> halted = List.of(
                holding(gone + "-1", LIBRARY, SqliteTempDirectory.LOCK),
                holding(gone + "-2", LOCK, SqliteTempDirectory.LOCK),
                unchangedSinceAStart(holding(gone + "-3", SqliteTempDirectory.LOCK)),
                unchangedSinceAStart(holding(gone + "-4")));

        start();

        assertThat(halted).allSatisfy(directory -> assertThat(directory).doesNotExist());
    }

    /**
     * The lock file alone or nothing, changed just now, is also what a start elsewhere holds before it has locked the
     * file; sqlite-jdbc's files without the lock file are an older version's. Both left.
     */
    @Test
    void aStartUnderWayElsewhereAndAnOlderVersionsDirectoryAreLeft() throws Exception {
        long gone = goneProcessPid();
        Path lockAlone = holding(gone + "-1", SqliteTempDirectory.LOCK);
        Path empty = holding(gone + "-2");
        Path older = holding(gone + "-3", LIBRARY, LOCK);

        start();

        assertThat(lockAlone.resolve(SqliteTempDirectory.LOCK)).exists();
        assertThat(empty).isDirectory();
        assertThat(older.resolve(LIBRARY)).exists();
    }

    /** A server's directory named for {@code pidAndRandom}, holding empty {@code files}. */
    private Path holding(String pidAndRandom, String... files) throws Exception {
        Path directory = Files.createDirectory(dir.resolve(SqliteTempDirectory.PREFIX + pidAndRandom));
        for (String file : files) {
            Files.writeString(directory.resolve(file), "");
        }
        return directory;
    }

    private static Path unchangedSinceAStart(Path directory) throws Exception {
        return Files.setLastModifiedTime(directory,
                FileTime.from(Instant.now().minus(SqliteLeftovers.START_UNDER_WAY).minusSeconds(60)));
    }

    /** A running process's directory (its server's, or a pid taken again by another process) is left. */
    @Test
    void theDirectoryOfALiveProcessIsLeft() throws Exception {
        long live = ProcessHandle.current().parent().orElseThrow().pid();
        Path running = leftover(SqliteTempDirectory.PREFIX + live + "-123");

        start();

        assertThat(running.resolve(LOCK)).exists();
    }

    /**
     * A container's server is pid 1 at every start: the directory of the one killed before it bears its own pid. No
     * other server of this process makes one, so every other directory named for its own pid is taken.
     */
    @Test
    void anotherDirectoryNamedForTheStartingProcesssOwnPidIsDeleted() throws Exception {
        Path earlier = leftover(SqliteTempDirectory.PREFIX + ProcessHandle.current().pid() + "-123");

        Path own = start();

        assertThat(earlier).doesNotExist();
        assertThat(own).isDirectory();
    }

    /**
     * In a shared temporary directory anyone may make a link named as a killed server's directory: it is never
     * followed, and what it names is left as it was, though it holds what sqlite-jdbc's directory would.
     */
    @Test
    void aLinkNamedAsAKilledServersDirectoryIsLeftAndWhatItNamesUntouched() throws Exception {
        Path target = leftover("elsewhere");
        Path link = Files.createSymbolicLink(dir.resolve(SqliteTempDirectory.PREFIX + goneProcessPid() + "-123"),
                target);

        start();

        assertThat(link).isSymbolicLink();
        assertThat(target.resolve(LIBRARY)).exists();
        assertThat(target.resolve(LOCK)).exists();
    }

    /**
     * A link inside one, named as sqlite-jdbc's library, to a file or to a directory outside: not followed, and the
     * directory, holding more than sqlite-jdbc's files, is left whole.
     */
    @Test
    void linksInsideAKilledServersDirectoryAreNotFollowed() throws Exception {
        Path outside = Files.writeString(dir.resolve("outside"), "theirs");
        Path outsideDirectory = leftover("outside-directory");
        Path toAFile = withALinkAsTheLibrary(goneProcessPid() + "-1", outside);
        Path toADirectory = withALinkAsTheLibrary(goneProcessPid() + "-2", outsideDirectory);

        start();

        assertThat(outside).hasContent("theirs");
        assertThat(outsideDirectory.resolve(LIBRARY)).hasContent("library");
        assertThat(outsideDirectory.resolve(LOCK)).exists();
        assertThat(toAFile.resolve(LIBRARY)).isSymbolicLink();
        assertThat(toADirectory.resolve(LIBRARY)).isSymbolicLink();
    }

    private Path withALinkAsTheLibrary(String pidAndRandom, Path target) throws Exception {
        Path killed = Files.createDirectory(dir.resolve(SqliteTempDirectory.PREFIX + pidAndRandom));
        Files.createSymbolicLink(killed.resolve(LIBRARY), target);
        Files.writeString(killed.resolve(LOCK), "");
        Files.writeString(killed.resolve(SqliteTempDirectory.LOCK), "");
        return killed;
    }

    /** A killed server's directory that holds anything but sqlite-jdbc's files (a database swapped in) is left. */
    @Test
    void aDirectoryHoldingMoreThanSqliteJdbcsFilesIsLeft() throws Exception {
        Path killed = leftover(SqliteTempDirectory.PREFIX + goneProcessPid() + "-123");
        Files.writeString(killed.resolve("picotunnel.db"), "data");

        start();

        assertThat(killed.resolve("picotunnel.db")).hasContent("data");
        assertThat(killed.resolve(LIBRARY)).exists();
    }

    /** Only the user's own: one of another user's (made here as root, who alone may give it away) is left. */
    @Test
    void anotherUsersDirectoryIsLeft() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root to give the directory away");
        Path theirs = leftover(SqliteTempDirectory.PREFIX + goneProcessPid() + "-123");
        Files.setOwner(theirs, dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("10001"));

        start();

        assertThat(theirs.resolve(LOCK)).exists();
    }

    /** A file named as a killed server's directory is not one: left. */
    @Test
    void aFileNamedAsAKilledServersDirectoryIsLeft() throws Exception {
        Path file = Files.writeString(dir.resolve(SqliteTempDirectory.PREFIX + goneProcessPid() + "-123"), "theirs");

        start();

        assertThat(file).hasContent("theirs");
    }

    /**
     * Where others may rename the parent's entries (writable by all without the sticky bit) a name checked could be
     * swapped before it is opened: nothing is taken there. With the sticky bit, as /tmp has it, each keeps to theirs.
     */
    @Test
    void aParentOthersMayRenameInIsLeftAsItIsUnlessSticky() throws Exception {
        Path killed = leftover(SqliteTempDirectory.PREFIX + goneProcessPid() + "-123");
        chmod("777");

        start();

        assertThat(killed.resolve(LOCK)).exists();
        chmod("1777");

        start();

        assertThat(killed).doesNotExist();
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

        try {
            assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("ended").isTrue();
        } finally {
            process.destroyForcibly();
        }
        assertThat(Files.readString(log)).contains("IllegalStateException: Shutdown in progress");
        SqliteTempFiles.assertNoneLeft(temp, SqliteTempFiles.OPERATORS);
    }

    /**
     * Two containers' servers sharing the parent (the host's /tmp mounted in both) are both pid 1: each bears the
     * other's pid, or one another pid namespace's that looks gone here. A server running elsewhere, here one in a
     * child JVM with its directory renamed to this process's pid and then to a gone pid, holds its directory's lock
     * from the moment it made it, before and after sqlite-jdbc wrote the library there: it is left, by that lock and
     * not by its age (the lock file alone, dated back past a start under way: a start slow to load sqlite-jdbc).
     */
    @Test
    void aRunningServersDirectoryIsLeftWhateverPidItBears() throws Exception {
        Path made = dir.resolve("made");
        Process elsewhere = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(),
                "-cp", System.getProperty("java.class.path"), RunningElsewhere.class.getName(), dir.toString(),
                made.toString()).redirectErrorStream(true).redirectOutput(dir.resolve("elsewhere.log").toFile())
                .start();
        Path gone;
        try {
            Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> Files.exists(made) || !elsewhere.isAlive());
            Path running = unchangedSinceAStart(Files.move(Path.of(Files.readString(made)),
                    dir.resolve(SqliteTempDirectory.PREFIX + ProcessHandle.current().pid() + "-123")));

            start();

            assertThat(running.resolve(SqliteTempDirectory.LOCK)).as("before the library").exists();
            Files.writeString(running.resolve(LIBRARY), "library");
            gone = Files.move(running, dir.resolve(SqliteTempDirectory.PREFIX + goneProcessPid() + "-123"));

            start();

            assertThat(gone.resolve(LIBRARY)).as("with the library").exists();
        } finally {
            elsewhere.destroyForcibly();
        }
        assertThat(elsewhere.waitFor(20, TimeUnit.SECONDS)).as("ended").isTrue();
        start();
        assertThat(gone).as("once it was killed").doesNotExist();
    }

    /**
     * A server's start elsewhere: makes its directory in args[0], writes its path to args[1], and runs until its input
     * ends (the test destroys it, or ended).
     */
    static final class RunningElsewhere {
        public static void main(String[] args) throws Exception {
            System.setProperty(SqliteTempDirectory.PROPERTY, args[0]);
            SqliteTempDirectory own = SqliteTempDirectory.create().orElseThrow();
            own.leftoversCleanedUp().get(30, TimeUnit.SECONDS);
            Files.writeString(Path.of(args[1] + ".tmp"), System.getProperty(SqliteTempDirectory.PROPERTY));
            Files.move(Path.of(args[1] + ".tmp"), Path.of(args[1]));
            while (System.in.read() >= 0) {
                // Runs on, holding the directory's lock, until the test is done with it.
            }
            own.deleteQuietly();
        }
    }

    /** A process that sets up the server's stop while it exits, from a shutdown hook. */
    static final class SetUpWhileExiting {
        public static void main(String[] args) {
            Runtime.getRuntime().addShutdownHook(
                    new Thread(() -> SignalStop.install(Duration.ZERO, Duration.ofSeconds(1))));
        }
    }

    /**
     * The clean-up opens entries others may swap (a FIFO between its checks and its open blocks the open for ever) or
     * on a hung NFS parent: it ran in the start, which hung with it. Held here by a clean-up that blocks.
     */
    @Test
    void aCleanUpThatHangsDoesNotHoldTheStart() throws Exception {
        System.setProperty(SqliteTempDirectory.PROPERTY, dir.toString());
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CompletableFuture<Optional<SqliteTempDirectory>> creating = CompletableFuture.supplyAsync(
                () -> SqliteTempDirectory.create(own -> {
                    entered.countDown();
                    awaitQuietly(release);
                }));
        try {
            assertThat(entered.await(30, TimeUnit.SECONDS)).as("clean-up started").isTrue();
            Optional<SqliteTempDirectory> made = creating.get(20, TimeUnit.SECONDS);
            assertThat(made).isPresent();
            started.add(made.get());
            assertThat(made.get().leftoversCleanedUp()).as("still held").isNotDone();
            assertThat(Thread.getAllStackTraces().keySet()).filteredOn(
                    thread -> thread.getName().equals(SqliteTempDirectory.LEFTOVERS_THREAD))
                    .anySatisfy(thread -> assertThat(thread.isDaemon()).as("daemon").isTrue());
        } finally {
            release.countDown();
        }
        assertThat(creating.get(30, TimeUnit.SECONDS).orElseThrow().leftoversCleanedUp())
                .succeedsWithin(Duration.ofSeconds(30));
    }

    /**
     * A start held for over a minute between making its lock file and locking it (SIGSTOP, a paused container) had its
     * directory taken by another start's clean-up, which takes a lock file alone once unchanged for that long: it then
     * locked the deleted file and pointed sqlite-jdbc at a directory gone. It makes another.
     */
    @Test
    void aStartHeldBeforeItLocksWhoseDirectoryAnotherStartTookMakesAnother() throws Exception {
        List<Path> made = startHeldBeforeTheFirstLock(anotherStartsCleanUpOnceUnchangedForAMinute());

        assertThat(made.getFirst()).as("taken by the other start").doesNotExist();
    }

    /**
     * A start held for over a minute between making its directory and making its lock file had the directory, empty,
     * taken by another start's clean-up (which takes an empty one once unchanged for that long): making the lock file
     * threw NoSuchFileException, and the start gave up. It makes another.
     */
    @Test
    void aStartHeldBeforeItMakesItsLockFileWhoseDirectoryAnotherStartTookMakesAnother() throws Exception {
        List<Path> made = startHeldOnItsFirstDirectory(anotherStartsCleanUpOnceUnchangedForAMinute(),
                held -> SqliteTempDirectory.create(own -> {
                }, held, directory -> {
                }));

        assertThat(made.getFirst()).as("taken by the other start").doesNotExist();
    }

    /** Another start's clean-up in {@link #dir}, run once the directory it is given was left unchanged for long. */
    private ThrowingConsumer<Path> anotherStartsCleanUpOnceUnchangedForAMinute() throws Exception {
        Path anotherStarts = Files.createDirectory(dir.resolve("another-start"));
        return directory -> {
            unchangedSinceAStart(directory);
            SqliteLeftovers.deleteBeside(anotherStarts);
        };
    }

    /** A lock file in its place that is not the one the start made (deleted, another made) is not its own either. */
    @Test
    void aStartWhoseLockFileWasReplacedBeforeItLockedMakesAnotherDirectory() throws Exception {
        List<Path> made = startHeldBeforeTheFirstLock(directory -> {
            Path lock = directory.resolve(SqliteTempDirectory.LOCK);
            Files.delete(lock);
            Files.writeString(lock, "");
        });

        assertThat(made.getFirst().resolve(SqliteTempDirectory.LOCK)).as("the other lock file, left").exists();
    }

    /**
     * A lock file locked when the start comes to lock it is held by another start's clean-up, here one in this process
     * (tryLock throws there, where another process's lock makes it return null): the directory is that clean-up's, and
     * the start makes another, where it failed its directory.
     */
    @Test
    void aStartWhoseLockFileAnotherStartsCleanUpHoldsInThisProcessMakesAnotherDirectory() throws Exception {
        List<FileChannel> cleanUpsLock = new ArrayList<>();
        try {
            List<Path> made = startHeldBeforeTheFirstLock(directory -> {
                FileChannel channel = FileChannel.open(directory.resolve(SqliteTempDirectory.LOCK),
                        StandardOpenOption.WRITE);
                cleanUpsLock.add(channel);
                assertThat(channel.tryLock()).as("the clean-up's lock").isNotNull();
            });

            assertThat(made.getFirst().resolve(SqliteTempDirectory.LOCK)).as("left to the clean-up").exists();
        } finally {
            for (FileChannel channel : cleanUpsLock) {
                channel.close();
            }
        }
    }

    /** {@link #startHeldOnItsFirstDirectory} held between the making of the lock file and its locking. */
    private List<Path> startHeldBeforeTheFirstLock(ThrowingConsumer<Path> took) {
        return startHeldOnItsFirstDirectory(took, held -> SqliteTempDirectory.create(own -> {
        }, held));
    }

    /**
     * Starts in {@link #dir} through {@code start}, given the seam where the start is held, with {@code took} run
     * there on its first directory; expects a second directory made, sqlite-jdbc pointed at it, and one warning. The
     * directories made.
     */
    private List<Path> startHeldOnItsFirstDirectory(ThrowingConsumer<Path> took,
                                                    Function<Consumer<Path>, Optional<SqliteTempDirectory>> start) {
        System.setProperty(SqliteTempDirectory.PROPERTY, dir.toString());
        List<Path> made = new ArrayList<>();
        try (LogCapture logged = new LogCapture(SqliteTempDirectory.class, Level.WARN)) {
            Optional<SqliteTempDirectory> started = start.apply(directory -> {
                made.add(directory);
                if (made.size() == 1) {
                    took.accept(directory);
                }
            });
            assertThat(started).isPresent();
            this.started.add(started.get());
            Path pointedAt = Path.of(System.getProperty(SqliteTempDirectory.PROPERTY));
            assertThat(pointedAt.resolve(SqliteTempDirectory.LOCK)).as("sqlite-jdbc's directory, with its lock file")
                    .exists();
            assertThat(made).as("directories made").hasSize(2);
            assertThat(pointedAt).isEqualTo(made.get(1));
            assertThat(logged.messages(Level.WARN)).singleElement().asString().isEqualTo("Making another directory"
                    + " for sqlite-jdbc's native library: another start's clean-up took " + made.getFirst()
                    + " before this start locked it (held for over 1 min since it made it)");
        }
        return made;
    }

    /** A start whose every directory is taken before it locks makes {@value SqliteTempDirectory#MAX_DIRECTORIES}. */
    @Test
    void aStartWhoseEveryDirectoryIsTakenGivesUpAfterAFewWithOneWarningMore() throws Exception {
        System.setProperty(SqliteTempDirectory.PROPERTY, dir.toString());
        List<Path> made = new ArrayList<>();
        try (LogCapture logged = new LogCapture(SqliteTempDirectory.class, Level.WARN)) {
            assertThat(SqliteTempDirectory.create(own -> {
            }, (ThrowingConsumer<Path>) directory -> {
                made.add(directory);
                Files.delete(directory.resolve(SqliteTempDirectory.LOCK));
            })).isEmpty();

            assertThat(made).hasSize(SqliteTempDirectory.MAX_DIRECTORIES);
            assertThat(logged.messages(Level.WARN)).hasSize(SqliteTempDirectory.MAX_DIRECTORIES).last().asString()
                    .isEqualTo("Cannot make a directory for sqlite-jdbc's native library in " + dir
                            + ": java.io.IOException: another start's clean-up took each of the "
                            + SqliteTempDirectory.MAX_DIRECTORIES + " directories made, the last " + made.getLast()
                            + ", before it was locked");
        }
        assertThat(System.getProperty(SqliteTempDirectory.PROPERTY)).isEqualTo(dir.toString());
    }

    /**
     * A killed server's directory this start cannot delete (here a file in it immutable, which stops root too) is one
     * WARN that says what was left and why. It said "Cannot delete ..., sqlite-jdbc's library left by ...".
     */
    @Test
    void aKilledServersDirectoryThatCannotBeDeletedIsOneWarningSayingWhatWasLeftAndWhy() throws Exception {
        Path killed = leftover(SqliteTempDirectory.PREFIX + goneProcessPid() + "-123");
        Path library = killed.resolve(LIBRARY);
        try (ImmutableFile stuck = ImmutableFile.make(library);
             LogCapture logged = new LogCapture(SqliteLeftovers.class, Level.WARN)) {
            start();

            assertThat(logged.events()).singleElement().satisfies(event -> {
                assertThat(event.getLevel()).isEqualTo(Level.WARN);
                assertThat(event.getFormattedMessage()).startsWith("Left " + killed + ", or part of it: the"
                        + " sqlite-jdbc directory (about 1 MB) of a server that was killed, which this start could not"
                        + " delete (java.nio.file.FileSystemException: ").contains(LIBRARY)
                        .endsWith("Operation not permitted); the next start tries again");
            });
            assertThat(stuck.path()).exists();
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Starts as the server does in {@link #dir}; returns its own directory, deleted after the test. */
    private Path start() {
        System.setProperty(SqliteTempDirectory.PROPERTY, dir.toString());
        Optional<SqliteTempDirectory> made = SqliteTempDirectory.create();
        assertThat(made).isPresent();
        started.add(made.get());
        assertThat(made.get().leftoversCleanedUp()).succeedsWithin(Duration.ofSeconds(30));
        Path own = Path.of(System.getProperty(SqliteTempDirectory.PROPERTY));
        System.setProperty(SqliteTempDirectory.PROPERTY, dir.toString());
        return own;
    }

    /** A directory holding what sqlite-jdbc puts in a server's: its library and the library's lock. */
    private Path leftover(String name) throws Exception {
        Path leftover = Files.createDirectory(dir.resolve(name));
        Files.writeString(leftover.resolve(LIBRARY), "library");
        Files.writeString(leftover.resolve(LOCK), "");
        Files.writeString(leftover.resolve(SqliteTempDirectory.LOCK), "");
        return leftover;
    }

    private void chmod(String mode) throws Exception {
        Process chmod = new ProcessBuilder("chmod", mode, dir.toString()).redirectErrorStream(true).start();
        try {
            assertThat(chmod.waitFor(20, TimeUnit.SECONDS)).as("chmod ended").isTrue();
            assertThat(chmod.exitValue()).as("chmod %s", mode).isZero();
        } finally {
            chmod.destroyForcibly();
        }
    }

    /** The pid of a process that has ended: one this test started and waited for. */
    private static long goneProcessPid() throws Exception {
        Process ended = new ProcessBuilder("true").start();
        try {
            assertThat(ended.waitFor(20, TimeUnit.SECONDS)).as("true ended").isTrue();
        } finally {
            ended.destroyForcibly();
        }
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
