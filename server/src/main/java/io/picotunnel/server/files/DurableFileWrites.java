package io.picotunnel.server.files;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;

/**
 * Writes of files whole or not at all, that outlast a crash of the machine (the admin token, ACME's keys, certificates
 * and notes; a backup and a restored database, written by SQLite, take their names here): into a file of their own
 * first, on the disk before it takes the name, and the name on the disk after.
 * Written in place, a write that failed (a full disk) or a crash left a file empty or cut short.
 */
public final class DurableFileWrites {

    private static final Logger log = LoggerFactory.getLogger(DurableFileWrites.class);
    private static final DurableFileWrites DEFAULT = new DurableFileWrites(DirectorySync::sync);

    private final Predicate<Path> syncDirectory;
    private final PosixPermissions.FileStoreLookup fileStore;
    private final AtomicBoolean syncFailureLogged = new AtomicBoolean();

    /** {@code syncDirectory}: {@link DirectorySync#sync} but in tests; see {@link #standard()}. */
    public DurableFileWrites(Predicate<Path> syncDirectory) {
        this(syncDirectory, Files::getFileStore);
    }

    /** {@code fileStore}: {@link Files#getFileStore} but in tests. */
    DurableFileWrites(Predicate<Path> syncDirectory, PosixPermissions.FileStoreLookup fileStore) {
        this.syncDirectory = syncDirectory;
        this.fileStore = fileStore;
    }

    /**
     * Replaces {@code file} with {@code content}, with {@code permissions} where the file system has POSIX ones; whether
     * its directory was synced after ({@link #syncDirectory(Path)}) is returned. Done on a thread interrupted too (the
     * ACME thread, interrupted by the server's shutdown, still saves its certificate): written through a stream, as an
     * interrupt closes a file channel mid-write (ClosedByInterruptException). A failure may name the temporary file.
     */
    public static boolean write(Path file, byte[] content, Set<PosixFilePermission> permissions) throws IOException {
        return DEFAULT.replace(file, content, permissions);
    }

    /**
     * Syncs {@code dir} ({@link DirectorySync#sync}), so that the names written in it outlast a crash of the machine.
     * The first time it cannot be (a file system that cannot sync a directory), a warning says so; then it is not
     * logged again, as it would be at every write on such a file system. A sync that fails on an interrupted thread
     * (the interrupt closes the directory's channel) is not warned of.
     */
    public static boolean syncDirectory(Path dir) {
        return DEFAULT.sync(dir);
    }

    /** The writes the static methods make, which sync with {@link DirectorySync#sync} and say once when they cannot. */
    public static DurableFileWrites standard() {
        return DEFAULT;
    }

    /**
     * Moves {@code from}, written whole and on the disk already (SQLite's backup, say), over {@code to} in the same
     * directory, atomically where the file system can, then syncs that directory ({@link #sync}); whether it was.
     */
    public boolean moveIntoPlace(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
        return sync(to.toAbsolutePath().getParent());
    }

    boolean replace(Path file, byte[] content, Set<PosixFilePermission> permissions) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        // a short name of its own: one after the file's (a domain's of 253 characters) could pass NAME_MAX's 255
        Path temporary = PosixPermissions.supported(dir, fileStore)
                ? Files.createTempFile(dir, ".tmp", ".tmp", PosixFilePermissions.asFileAttribute(permissions))
                : Files.createTempFile(dir, ".tmp", ".tmp");
        try {
            try (FileOutputStream out = new FileOutputStream(temporary.toFile())) {
                out.write(content);
                out.getFD().sync();
            }
            Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temporary);
        }
        return sync(dir);
    }

    /** As {@link #syncDirectory}, with this instance's sync and its warning logged once. */
    public boolean sync(Path dir) {
        if (syncDirectory.test(dir)) {
            return true;
        }
        if (Thread.currentThread().isInterrupted()) {
            // an interrupt during the sync (the shutdown's, on the ACME thread) closed its channel: no word on the file
            // system, so the warning is kept for a sync that fails without one
            log.debug("The sync of the directory {} was interrupted.", dir);
            return false;
        }
        if (syncFailureLogged.compareAndSet(false, true)) {
            log.warn("Cannot sync the directory {}: a file written in it could be lost, or be the one it replaced, after"
                    + " a crash of the machine (a file system that cannot sync a directory, say). Not logged again.", dir);
        }
        return false;
    }
}
