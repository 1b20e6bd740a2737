package io.picotunnel.server.files;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Set;

/** Whether a directory's files have POSIX permissions, asked the same way wherever the server sets a file's mode. */
public final class PosixPermissions {

    private static final Set<PosixFilePermission> OWNERS = EnumSet.of(PosixFilePermission.OWNER_READ,
            PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE);

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
    public static boolean supported(Path dir, FileStoreLookup fileStore) {
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
     * The attributes that create a file or a directory in {@code dir}: with {@code permissions} where it has POSIX ones
     * ({@link #supported}); with only the owner's of them where its file store says it has none but its file system
     * takes them (a store the JDK's fstypes.properties marks so on Linux, whose {@link Files#createFile} and the like
     * take the mode whatever the store says, and without it give the umask's, {@code rw-r--r--}: a key, a token or a
     * database readable by anyone); none where its file system has no POSIX permissions: Windows' refuses them with
     * UnsupportedOperationException and would create nothing (a zip file's takes them without a word).
     */
    public static FileAttribute<?>[] initial(Path dir, Set<PosixFilePermission> permissions) {
        return initial(dir, permissions, Files::getFileStore);
    }

    /** As {@link #initial(Path, Set)}, the file store looked up by {@code fileStore}. */
    public static FileAttribute<?>[] initial(Path dir, Set<PosixFilePermission> permissions,
            FileStoreLookup fileStore) {
        if (supported(dir, fileStore)) {
            return new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(permissions)};
        }
        if (dir.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            Set<PosixFilePermission> ownersOnly = EnumSet.noneOf(PosixFilePermission.class);
            permissions.stream().filter(OWNERS::contains).forEach(ownersOnly::add);
            return new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(ownersOnly)};
        }
        return new FileAttribute<?>[0];
    }

    /** {@link Files#getFileStore}'s signature: it, but in tests. */
    public interface FileStoreLookup {
        FileStore of(Path path) throws IOException;
    }
}
