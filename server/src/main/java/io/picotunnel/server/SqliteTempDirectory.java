package io.picotunnel.server;

import io.picotunnel.protocol.config.Durations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * A directory of this process's own for the native library sqlite-jdbc extracts (and its {@code .lck}): a {@code
 * picotunnel-sqlite-*} directory in the operator's {@value #PROPERTY} when set (that directory is theirs, ours in it is
 * ours), else in {@code java.io.tmpdir} as sqlite-jdbc's default is (the same mount, so a {@code noexec} one fails as
 * before). The server's shutdown hook halts, which skips the JVM's deletes on exit, and sqlite-jdbc's clean-up of old
 * libraries skips one whose {@code .lck} remains: the hook deletes this directory first, or every stop left 1 MB.
 * A process killed (SIGKILL, the OOM killer) runs no hook and leaves its directory, named {@code
 * picotunnel-sqlite-<pid>-<random>}: the next start in the same parent deletes it once no process has that pid (or
 * it is the starting server's own pid, a container's 1) and no process holds its {@value #LOCK} file's lock, through
 * {@link SqliteLeftovers}, which never follows a link and takes only this user's directories holding only sqlite-jdbc's
 * files and that lock, or (once unchanged for a minute, what a kill during a deletion leaves) the lock alone or
 * nothing. The lock is what tells a live server in another pid namespace (a container sharing the parent)
 * from a killed one: the kernel releases it when its process ends, whatever namespace it was in.
 * That clean-up runs on a daemon thread ({@value #LEFTOVERS_THREAD}) the start does not wait for: it opens other
 * users' and other servers' entries of a shared parent, where an open can block for ever (a FIFO swapped in between
 * its checks and its open, a hung NFS parent), and must not hold the start or its stop. It races neither this
 * directory's making (it starts once the directory is made, locked and set) nor the stop's deletion of it: it skips
 * this directory's name and takes only directories whose lock it gets, which this process's held lock never gives.
 * A start held for over that minute between making its directory and locking its lock file (SIGSTOP, a paused
 * container) may find its directory taken by another start's clean-up, the directory gone before it makes its lock
 * file or the lock file it locks deleted: it checks, once locked, that its lock file is still in place, the one it
 * made, and makes another directory where not.
 */
final class SqliteTempDirectory {

    static final String PROPERTY = "org.sqlite.tmpdir";
    static final String PREFIX = "picotunnel-sqlite-";
    /** The file whose lock the server holds for as long as it runs, in its directory. */
    static final String LOCK = "picotunnel-sqlite.lock";
    /**
     * More files than a server's directory holds (the lock file, sqlite-jdbc's library and the library's lock), a bound
     * and not an expectation: a stop deletes at most that many, and {@link SqliteLeftovers} leaves a directory holding
     * more.
     */
    static final int MAX_FILES = 10;
    static final String LEFTOVERS_THREAD = "picotunnel-sqlite-leftovers";
    /** Directories one start makes at most, each taken by another start's clean-up before it was locked. */
    static final int MAX_DIRECTORIES = 3;
    private static final Logger log = LoggerFactory.getLogger(SqliteTempDirectory.class);

    private final Path directory;
    /** Held open for the process's life: a channel no longer reachable is closed by its cleaner, and the lock lost. */
    private final FileChannel lock;
    private final CompletableFuture<Void> leftoversCleanedUp;

    private SqliteTempDirectory(Path directory, FileChannel lock, CompletableFuture<Void> leftoversCleanedUp) {
        this.directory = directory;
        this.lock = lock;
        this.leftoversCleanedUp = leftoversCleanedUp;
    }

    /**
     * Makes the directory and points sqlite-jdbc at it, before it first loads (it reads {@value #PROPERTY} then), and
     * starts deleting those killed servers left beside it ({@link SqliteLeftovers}, not waited for); empty, with a
     * warning that names the parent and the cause, when it cannot be made: sqlite-jdbc's default (or the operator's
     * directory) then stands, whatever sqlite-jdbc makes of it (a missing operator's directory fails the start), so the
     * warning says no more.
     */
    static Optional<SqliteTempDirectory> create() {
        return create(SqliteLeftovers::deleteBeside);
    }

    /** As {@link #create()}, with {@code cleanUp} (given this directory) in place of {@link SqliteLeftovers}'. */
    static Optional<SqliteTempDirectory> create(Consumer<Path> cleanUp) {
        return create(cleanUp, directory -> {
        });
    }

    /**
     * As {@link #create(Consumer)}, with {@code beforeLock} run on each directory made, between the making of its lock
     * file and its locking (for tests: a start held there).
     */
    static Optional<SqliteTempDirectory> create(Consumer<Path> cleanUp, Consumer<Path> beforeLock) {
        return create(cleanUp, directory -> {
        }, beforeLock);
    }

    /** As {@link #create(Consumer, Consumer)}, with {@code beforeLockFile} run on each directory made, first. */
    static Optional<SqliteTempDirectory> create(Consumer<Path> cleanUp, Consumer<Path> beforeLockFile,
                                                Consumer<Path> beforeLock) {
        String operators = System.getProperty(PROPERTY);
        String parent = operators != null ? operators : System.getProperty("java.io.tmpdir");
        try {
            for (int made = 1; ; made++) {
                Path directory = Files.createTempDirectory(Path.of(parent),
                        PREFIX + ProcessHandle.current().pid() + "-");
                beforeLockFile.accept(directory);
                Optional<FileChannel> lock = locked(directory, beforeLock);
                if (lock.isPresent()) {
                    System.setProperty(PROPERTY, directory.toString());
                    return Optional.of(new SqliteTempDirectory(directory, lock.get(),
                            startCleanUp(cleanUp, directory)));
                }
                if (made == MAX_DIRECTORIES) {
                    throw new IOException("another start's clean-up took each of the " + made + " directories made,"
                            + " the last " + directory + ", before it was locked");
                }
                log.warn("Making another directory for sqlite-jdbc's native library: another start's clean-up took"
                        + " {} before this start locked it (held for over {} since it made it)", directory,
                        Durations.format(SqliteLeftovers.START_UNDER_WAY));
            }
        } catch (IOException | RuntimeException e) {
            log.warn("Cannot make a directory for sqlite-jdbc's native library in {}: {}", parent, e.toString());
            return Optional.empty();
        }
    }

    /** Runs {@code cleanUp} on a daemon thread; the future completes when it has ended, however it ended. */
    private static CompletableFuture<Void> startCleanUp(Consumer<Path> cleanUp, Path own) {
        CompletableFuture<Void> ended = new CompletableFuture<>();
        Thread thread = new Thread(() -> {
            try {
                cleanUp.accept(own);
            } finally {
                ended.complete(null);
            }
        }, LEFTOVERS_THREAD);
        thread.setDaemon(true);
        try {
            thread.start();
        } catch (OutOfMemoryError e) {
            log.warn("Not looking for killed servers' sqlite directories beside {}: {}", own, e.toString());
            ended.complete(null);
        }
        return ended;
    }

    /** Completes when the clean-up of killed servers' directories has ended (for tests: the start never waits). */
    CompletableFuture<Void> leftoversCleanedUp() {
        return leftoversCleanedUp;
    }

    /**
     * Makes {@value #LOCK} in {@code directory} and locks it; deletes the directory where it cannot. Empty where
     * another start's clean-up took the directory before the lock was taken (the directory gone, empty, before the lock
     * file was made; the lock file gone, or another, or locked by that clean-up): the directory is left to it.
     */
    private static Optional<FileChannel> locked(Path directory, Consumer<Path> beforeLock) throws IOException {
        Path file = directory.resolve(LOCK);
        FileChannel channel = null;
        try {
            try {
                channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            } catch (NoSuchFileException e) {
                return Optional.empty(); // the directory is gone: another start's clean-up took it, empty
            }
            Optional<Object> made = fileKey(file);
            beforeLock.accept(directory);
            FileLock held;
            try {
                held = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                held = null; // a clean-up in this process holds it
            }
            if (held != null && made.isPresent() && made.equals(fileKey(file))) {
                return Optional.of(channel);
            }
            channel.close();
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            if (channel != null) {
                channel.close();
            }
            deleteQuietly(directory);
            throw e;
        }
    }

    /**
     * What tells {@code file} from any other while it is open here (on Linux its device and inode, not given again
     * while the file is open); empty where the file is gone.
     */
    private static Optional<Object> fileKey(Path file) throws IOException {
        try {
            BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class,
                    LinkOption.NOFOLLOW_LINKS);
            return Optional.of(attributes.fileKey() != null ? attributes.fileKey() : file);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    /**
     * Deletes the directory and its files, for a process about to halt; never throws. Unlinking a loaded library is
     * fine on Linux and macOS; where the system refuses (Windows), the files stay.
     */
    void deleteQuietly() {
        deleteQuietly(directory);
        try {
            lock.close();
        } catch (IOException e) {
            // The process halts next, which releases the lock anyway.
        }
    }

    /**
     * Deletes {@code directory}'s files (links themselves, not what they name), the lock file last, then it; never
     * throws. A halt on the way leaves the lock file with some of the rest, or it alone, or nothing, each of which a
     * later start takes ({@link SqliteLeftovers}), where the library without the lock file would stay. With more than
     * {@value #MAX_FILES} files (not sqlite-jdbc's) the lock file and the directory stay.
     */
    private static void deleteQuietly(Path directory) {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory)) {
            int seen = 0;
            for (Path file : files) {
                if (++seen > MAX_FILES) {
                    return;
                }
                if (!file.getFileName().toString().equals(LOCK)) {
                    Files.deleteIfExists(file);
                }
            }
            Files.deleteIfExists(directory.resolve(LOCK));
            Files.deleteIfExists(directory);
        } catch (IOException | RuntimeException e) {
            // Left as a halt left it before: nothing else to do on the way out.
        }
    }
}
