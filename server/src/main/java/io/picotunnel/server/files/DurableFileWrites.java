package io.picotunnel.server.files;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
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
    private static final DurableFileWrites STANDARD = new DurableFileWrites(DirectorySync::sync);
    /** How the name of each file written before it takes its own begins (and ends). */
    static final String TEMPORARY_PREFIX = ".tmp";
    /** How many of the entries a crash left {@link #deleteLeftTemporaryFiles} deletes at most in one call. */
    private static final int MAX_LEFT_TEMPORARY_FILES = 10_000;

    /** A file written whole, to take the name of another in the same directory. */
    public record Move(Path from, Path to) {
    }

    /** {@link Files#move}'s signature. */
    interface Mover {
        void move(Path from, Path to, CopyOption... options) throws IOException;
    }

    /** {@link Files#deleteIfExists}'s signature. */
    interface Deleter {
        boolean delete(Path file) throws IOException;
    }

    private final Predicate<Path> syncDirectory;
    private final PosixPermissions.FileStoreLookup fileStore;
    private final Mover mover;
    private final Deleter deleter;
    private final AtomicBoolean syncFailureLogged = new AtomicBoolean();

    /** {@code syncDirectory}: {@link DirectorySync#sync} but in tests; see {@link #standard()}. */
    DurableFileWrites(Predicate<Path> syncDirectory) {
        this(syncDirectory, Files::getFileStore, Files::move);
    }

    /** {@code fileStore} and {@code mover}: {@link Files#getFileStore} and {@link Files#move} but in tests. */
    DurableFileWrites(Predicate<Path> syncDirectory, PosixPermissions.FileStoreLookup fileStore, Mover mover) {
        this(syncDirectory, fileStore, mover, Files::deleteIfExists);
    }

    /** {@code deleter}: {@link Files#deleteIfExists} but in tests. */
    DurableFileWrites(Predicate<Path> syncDirectory, PosixPermissions.FileStoreLookup fileStore, Mover mover,
            Deleter deleter) {
        this.syncDirectory = syncDirectory;
        this.fileStore = fileStore;
        this.mover = mover;
        this.deleter = deleter;
    }

    /** The server's writes, which sync with {@link DirectorySync#sync} and say once when they cannot. */
    public static DurableFileWrites standard() {
        return STANDARD;
    }

    /**
     * Replaces {@code file} with {@code content} ({@link #writeWhole}), then syncs its directory ({@link #sync});
     * whether it was.
     */
    public boolean replace(Path file, byte[] content, Set<PosixFilePermission> permissions) throws IOException {
        writeWhole(file, content, permissions);
        return sync(file.toAbsolutePath().getParent());
    }

    /**
     * Replaces {@code file} with {@code content}, with {@code permissions} where the file system has POSIX ones,
     * through a temporary file written and on the disk first, then moved over it as {@link #moveIntoPlace} moves;
     * its directory is not synced: for a file moved into place after, with others, and synced with them. Done on a
     * thread interrupted too (the ACME thread, interrupted by the server's shutdown, still saves its certificate):
     * written through a stream, as an interrupt closes a file channel mid-write (ClosedByInterruptException). A
     * failure may name the temporary file, which is deleted.
     */
    public void writeWhole(Path file, byte[] content, Set<PosixFilePermission> permissions) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        // a short name of its own: one after the file's (a domain's of 253 characters) could pass NAME_MAX's 255
        Path temporary = Files.createTempFile(dir, TEMPORARY_PREFIX, TEMPORARY_PREFIX,
                PosixPermissions.initial(dir, permissions, fileStore));
        try {
            try (FileOutputStream out = new FileOutputStream(temporary.toFile())) {
                out.write(content);
                out.getFD().sync();
            }
            move(temporary, file);
        } catch (IOException | RuntimeException | Error e) {
            try {
                Files.deleteIfExists(temporary);
            } catch (IOException | RuntimeException notDeleted) {
                e.addSuppressed(notDeleted);
            }
            throw e;
        }
    }

    /**
     * Deletes the temporary files of {@link #writeWhole} a crash left in {@code dir} (at most 10,000), before their
     * renames: nothing reads them, and one may hold a secret replaced since (a key). Only while no write in {@code dir}
     * is under way: it would delete that write's file too. Listed through {@code dir/.} (a FIFO in its place fails at
     * once); a directory that is not there has none. How many were deleted.
     */
    public int deleteLeftTemporaryFiles(Path dir) throws IOException {
        int deleted = 0;
        String glob = TEMPORARY_PREFIX + "*" + TEMPORARY_PREFIX;
        try (DirectoryStream<Path> left = Files.newDirectoryStream(dir.resolve("."), glob)) {
            for (Path file : left) {
                if (deleted == MAX_LEFT_TEMPORARY_FILES) {
                    break;
                }
                Path named = dir.resolve(file.getFileName());
                if (Files.isRegularFile(named, LinkOption.NOFOLLOW_LINKS) && deleter.delete(named)) {
                    deleted++;
                }
            }
        } catch (NoSuchFileException | NotDirectoryException e) {
            // no directory: no files left in it
        }
        return deleted;
    }

    /** As {@link #moveIntoPlace(List)}, one file. */
    public boolean moveIntoPlace(Path from, Path to) throws IOException {
        return moveIntoPlace(List.of(new Move(from, to)));
    }

    /**
     * Moves each file of {@code moves}, written whole and on the disk already (SQLite's backup, say), over the one it
     * is to replace, in order, atomically where the file system can (else a plain move: a file system that cannot
     * rename atomically), then syncs their directory once ({@link #sync}); whether it was. At least one move, all in
     * one directory.
     */
    public boolean moveIntoPlace(List<Move> moves) throws IOException {
        for (Move move : moves) {
            move(move.from(), move.to());
        }
        return sync(moves.getLast().to().toAbsolutePath().getParent());
    }

    /**
     * Deletes {@code file} if it is there; whether it was. Its directory is not synced: a deletion that others must
     * follow on the disk is synced ({@link #sync}) before them.
     */
    public boolean delete(Path file) throws IOException {
        return deleter.delete(file);
    }

    private void move(Path from, Path to) throws IOException {
        try {
            mover.move(from, to, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            mover.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * Syncs {@code dir} ({@link DirectorySync#sync} but in tests), so that the names written in it outlast a crash of
     * the machine. The first time it cannot be (a file system that cannot sync a directory), a warning says so; then
     * it is not logged again, as it would be at every write on such a file system. A sync that fails on an interrupted
     * thread (the interrupt closes the directory's channel) is not warned of.
     */
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
