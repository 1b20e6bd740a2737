package io.picotunnel.server.files;

import java.nio.file.Path;
import java.util.function.Predicate;

/**
 * For tests of other packages: {@link DurableFileWrites} whose directory syncs the test sees (its constructor is this
 * package's).
 */
public final class TestFileWrites {

    private TestFileWrites() {
    }

    /** Writes that sync a directory by {@code sync} ({@link DirectorySync#sync} in the server's). */
    public static DurableFileWrites syncingWith(Predicate<Path> sync) {
        return new DurableFileWrites(sync);
    }
}
