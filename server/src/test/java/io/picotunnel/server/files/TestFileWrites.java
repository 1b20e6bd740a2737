package io.picotunnel.server.files;

import java.io.IOException;
import java.nio.file.Files;
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

    /** Writes that look up a directory's file store by {@code fileStore} (the server's: {@link Files#getFileStore}). */
    public static DurableFileWrites withFileStore(PosixPermissions.FileStoreLookup fileStore) {
        return new DurableFileWrites(DirectorySync::sync, fileStore, Files::move);
    }

    /** Writes whose moves to a name ending in {@code suffix} fail, as on a full disk. */
    public static DurableFileWrites failingMovesTo(String suffix) {
        return new DurableFileWrites(DirectorySync::sync, Files::getFileStore, (from, to, options) -> {
            if (to.getFileName().toString().endsWith(suffix)) {
                throw new IOException("No space left on device");
            }
            Files.move(from, to, options);
        });
    }
}
