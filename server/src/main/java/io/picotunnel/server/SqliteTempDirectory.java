package io.picotunnel.server;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A directory of this process's own for the native library sqlite-jdbc extracts (and its {@code .lck}), under {@code
 * java.io.tmpdir} as sqlite-jdbc's default is (the same mount, so a {@code noexec} one fails as before): the files a
 * process that halts leaves are then known to be its own. Halting skips the JVM's deletes on exit, and sqlite-jdbc's
 * clean-up of old libraries skips one whose {@code .lck} remains, so every halt left 1 MB in the temporary directory.
 * Not made when the operator set {@value #PROPERTY}: that directory is theirs.
 */
final class SqliteTempDirectory {

    static final String PROPERTY = "org.sqlite.tmpdir";
    /** More than sqlite-jdbc puts there (a library and its lock): a bound, not an expectation. */
    private static final int MAX_FILES = 100;

    private final Path directory;

    private SqliteTempDirectory(Path directory) {
        this.directory = directory;
    }

    /**
     * Makes the directory and points sqlite-jdbc at it, before it first loads (it reads {@value #PROPERTY} then);
     * empty when the operator set that property, or the directory cannot be made (sqlite-jdbc's default then stands).
     * An exit that is not a halt deletes it after sqlite-jdbc's files, which are registered later.
     */
    static Optional<SqliteTempDirectory> create() {
        if (System.getProperty(PROPERTY) != null) {
            return Optional.empty();
        }
        try {
            Path directory = Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")),
                    "picotunnel-sqlite-");
            directory.toFile().deleteOnExit();
            System.setProperty(PROPERTY, directory.toString());
            return Optional.of(new SqliteTempDirectory(directory));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    Path path() {
        return directory;
    }

    /**
     * Deletes the directory and its files, for a process about to halt; never throws. Unlinking a loaded library is
     * fine on Linux and macOS; where the system refuses (Windows), the files stay.
     */
    void deleteQuietly() {
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
