package io.picotunnel.server.files;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/** Whether a directory's files have POSIX permissions, asked the same way wherever the server sets a file's mode. */
public final class PosixPermissions {

    private PosixPermissions() {
    }

    /**
     * Whether {@code dir}'s file store has POSIX permissions, that of its nearest existing parent where it does not
     * exist yet (a directory about to be created); where its mount is not listed (a chroot, some containers:
     * {@link Files#getFileStore} fails with "Mount point not found"), whether its file system has them, as the lookup
     * would fail every time.
     */
    public static boolean supported(Path dir) {
        return supported(dir, Files::getFileStore);
    }

    /** As {@link #supported(Path)}, the file store looked up by {@code fileStore}: {@link Files#getFileStore} but in tests. */
    static boolean supported(Path dir, FileStoreLookup fileStore) {
        Path existing = dir.toAbsolutePath();
        while (existing.getParent() != null && !Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) {
            existing = existing.getParent();
        }
        try {
            return fileStore.of(existing).supportsFileAttributeView("posix");
        } catch (IOException e) {
            return dir.getFileSystem().supportedFileAttributeViews().contains("posix");
        }
    }

    /**
     * The attributes that create a file or a directory in {@code dir} with {@code permissions} where it has POSIX ones
     * ({@link #supported}); none where it has not, where {@link Files#createFile} and the like refuse the permissions
     * (UnsupportedOperationException) and would create nothing.
     */
    public static FileAttribute<?>[] initial(Path dir, Set<PosixFilePermission> permissions) {
        return initial(dir, permissions, Files::getFileStore);
    }

    /** As {@link #initial(Path, Set)}, the file store looked up by {@code fileStore}. */
    static FileAttribute<?>[] initial(Path dir, Set<PosixFilePermission> permissions, FileStoreLookup fileStore) {
        return supported(dir, fileStore)
                ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(permissions)}
                : new FileAttribute<?>[0];
    }

    /** {@link Files#getFileStore}'s signature. */
    interface FileStoreLookup {
        FileStore of(Path path) throws IOException;
    }
}
