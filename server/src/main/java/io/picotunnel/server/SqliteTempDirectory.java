package io.picotunnel.server;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A directory of this process's own for the native library sqlite-jdbc extracts (and its {@code .lck}): a {@code
 * picotunnel-sqlite-*} directory in the operator's {@value #PROPERTY} when set (that directory is theirs, ours in it is
 * ours), else in {@code java.io.tmpdir} as sqlite-jdbc's default is (the same mount, so a {@code noexec} one fails as
 * before). The server's shutdown hook halts, which skips the JVM's deletes on exit, and sqlite-jdbc's clean-up of old
 * libraries skips one whose {@code .lck} remains: the hook deletes this directory first, or every stop left 1 MB.
 * A process killed (SIGKILL, the OOM killer) runs no hook: its directory, named for its pid, is deleted by the next
 * start in the same parent, once no process has that pid.
 */
final class SqliteTempDirectory {

    static final String PROPERTY = "org.sqlite.tmpdir";
    static final String PREFIX = "picotunnel-sqlite-";
    /** More than sqlite-jdbc puts there (a library and its lock): a bound, not an expectation. */
    private static final int MAX_FILES = 100;
    /** How many {@code picotunnel-sqlite-*} names in the parent one start looks at: a bound, not an expectation. */
    private static final int MAX_LEFTOVERS = 100;
    /**
     * Ours, named {@code picotunnel-sqlite-<pid>-<random>}. Older versions named theirs {@code
     * picotunnel-sqlite-<random>}, nothing saying whose process it was: those are left alone, as one may be a server's
     * still running (or a program's of another name that chose the prefix).
     */
    private static final Pattern LEFTOVER = Pattern.compile(Pattern.quote(PREFIX) + "(\\d{1,18})-\\d+");

    private static final Logger log = LoggerFactory.getLogger(SqliteTempDirectory.class);

    private final Path directory;

    private SqliteTempDirectory(Path directory) {
        this.directory = directory;
    }

    /**
     * Makes the directory and points sqlite-jdbc at it, before it first loads (it reads {@value #PROPERTY} then);
     * empty, with a warning that names the parent and the cause, when it cannot be made: sqlite-jdbc's default (or the
     * operator's directory) then stands, whatever sqlite-jdbc makes of it (a missing operator's directory fails the
     * start), so the warning says no more.
     */
    static Optional<SqliteTempDirectory> create() {
        String operators = System.getProperty(PROPERTY);
        String parent = operators != null ? operators : System.getProperty("java.io.tmpdir");
        try {
            Path directory = Files.createTempDirectory(Path.of(parent), PREFIX + ProcessHandle.current().pid() + "-");
            System.setProperty(PROPERTY, directory.toString());
            deleteLeftovers(Path.of(parent));
            return Optional.of(new SqliteTempDirectory(directory));
        } catch (IOException | RuntimeException e) {
            log.warn("Cannot make a directory for sqlite-jdbc's native library in {}: {}", parent, e.toString());
            return Optional.empty();
        }
    }

    /**
     * Deletes the directory and its files, for a process about to halt; never throws. Unlinking a loaded library is
     * fine on Linux and macOS; where the system refuses (Windows), the files stay.
     */
    void deleteQuietly() {
        deleteQuietly(directory);
    }

    /**
     * Deletes the {@code picotunnel-sqlite-<pid>-*} directories in {@code parent} whose process is gone; one whose pid
     * is alive (still its server's, or reused by another process) is left for a later start. Links are not followed,
     * and a directory that cannot be read or deleted is left as it is: never throws.
     */
    private static void deleteLeftovers(Path parent) {
        try (DirectoryStream<Path> leftovers = Files.newDirectoryStream(parent, PREFIX + "*")) {
            int seen = 0;
            for (Path leftover : leftovers) {
                if (++seen > MAX_LEFTOVERS) {
                    break;
                }
                Matcher named = LEFTOVER.matcher(leftover.getFileName().toString());
                if (named.matches() && ProcessHandle.of(Long.parseLong(named.group(1))).isEmpty()
                        && Files.isDirectory(leftover, LinkOption.NOFOLLOW_LINKS)) {
                    deleteQuietly(leftover);
                }
            }
        } catch (IOException | RuntimeException e) {
            // A start goes on without it: what is left is left, as before.
        }
    }

    /** Deletes {@code directory}'s files (links themselves, not what they name), then it; never throws. */
    private static void deleteQuietly(Path directory) {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory)) {
            int seen = 0;
            for (Path file : files) {
                if (++seen > MAX_FILES) {
                    break;
                }
                Files.deleteIfExists(file);
            }
            Files.deleteIfExists(directory);
        } catch (IOException | RuntimeException e) {
            // Left as a halt left it before: nothing else to do on the way out.
        }
    }
}
