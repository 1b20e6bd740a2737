package io.picotunnel.server.files;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;
import java.util.function.Predicate;

/**
 * Writes of files whole or not at all, that outlast a crash of the machine (the admin token, ACME's keys, certificates
 * and notes; a backup and a restored database, written by SQLite, take their names here): into a file of their own
 * first, on the disk before it takes the name, and the name on the disk after.
 * Written in place, a write that failed (a full disk) or a crash left a file empty or cut short.
 */
public final class DurableFileWrites {

    private static final Logger log = LoggerFactory.getLogger(DurableFileWrites.class);
    /** Before {@link #STANDARD}, which takes its numbers. */
    private static final SecureRandom random = new SecureRandom();
    private static final DurableFileWrites STANDARD = new DurableFileWrites(DirectorySync::sync);
    /** How the name of each file written before it takes its own begins (and ends). */
    static final String TEMPORARY_PREFIX = ".tmp";
    /** How many of the entries a crash left {@link #deleteLeftTemporaryFiles} tries to delete at most in one call. */
    private static final int MAX_LEFT_TEMPORARY_FILES = 10_000;
    /** How many of the failures of {@link #deleteLeftTemporaryFiles} its result keeps, to be named in a warning. */
    private static final int MAX_FAILURES_KEPT = 3;
    /** How many names {@link #createTemporaryFile} tries before it gives up: another file has each of them. */
    private static final int MAX_TEMPORARY_NAMES_TRIED = 100;

    /** A file written whole, to take the name of another in the same directory. */
    public record Move(Path from, Path to) {
    }

    /**
     * What {@link #deleteLeftTemporaryFiles} did: how many files it deleted, how many failures it met (a file it could
     * not delete, the directory it could not list) and the first {@value #MAX_FAILURES_KEPT} of them, each naming its
     * file or the directory.
     */
    public record LeftTemporaryFiles(int deleted, int failed, List<IOException> firstFailures) {
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
    private final LongSupplier temporaryNumbers;
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
        this(syncDirectory, fileStore, mover, deleter, random::nextLong);
    }

    /** {@code temporaryNumbers}: the numbers in the names of temporary files, random but in tests. */
    DurableFileWrites(Predicate<Path> syncDirectory, PosixPermissions.FileStoreLookup fileStore, Mover mover,
            Deleter deleter, LongSupplier temporaryNumbers) {
        this.syncDirectory = syncDirectory;
        this.fileStore = fileStore;
        this.mover = mover;
        this.deleter = deleter;
        this.temporaryNumbers = temporaryNumbers;
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
     * Replaces {@code file} with {@code content}, with {@code permissions} where its directory has POSIX ones
     * ({@link PosixPermissions#supported}), only the owner's of them where only its file system has ({@link #initial}),
     * through a temporary file written and on the disk first, then moved over it as {@link #moveIntoPlace} moves;
     * its directory is not synced: for a file moved into place after, with others, and synced with them. Done on a
     * thread interrupted too (the ACME thread, interrupted by the server's shutdown, still saves its certificate):
     * written through a stream, as an interrupt closes a file channel mid-write (ClosedByInterruptException). A
     * failure may name the temporary file, which is deleted.
     */
    public void writeWhole(Path file, byte[] content, Set<PosixFilePermission> permissions) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Path temporary = createTemporaryFile(dir, permissions);
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
     * {@link PosixPermissions#initial}, the file store looked up as these writes look it up: the attributes that create
     * a file or a directory in {@code dir} with {@code permissions}, or only the owner's of them, or none.
     */
    public FileAttribute<?>[] initial(Path dir, Set<PosixFilePermission> permissions) {
        return PosixPermissions.initial(dir, permissions, fileStore);
    }

    /**
     * A new empty file in {@code dir} with a name {@link #isTemporaryName} tells from any other: {@code .tmp}, a random
     * unsigned 64-bit number, {@code .tmp}. Short, where one after the file's (a domain's of 253 characters) could pass
     * NAME_MAX's 255; made here rather than by {@link Files#createTempFile}, whose names the JDK may change. Created
     * with its permissions ({@link #initial}), never another's file.
     */
    Path createTemporaryFile(Path dir, Set<PosixFilePermission> permissions) throws IOException {
        FileAttribute<?>[] attributes = initial(dir, permissions);
        for (int tried = 1; ; tried++) {
            String number = Long.toUnsignedString(temporaryNumbers.getAsLong());
            Path temporary = dir.resolve(TEMPORARY_PREFIX + number + TEMPORARY_PREFIX);
            try {
                return Files.createFile(temporary, attributes);
            } catch (FileAlreadyExistsException e) {
                if (tried == MAX_TEMPORARY_NAMES_TRIED) {
                    throw e;
                }
            }
        }
    }

    /**
     * Whether {@code name} is one {@link #createTemporaryFile} gives, and so the clean-up's: {@code .tmp}, a number
     * from 0 to 2^64-1 written as {@link Long#toUnsignedString} writes it (no sign, no leading zero), {@code .tmp}.
     * An operator's {@code .tmp.admin-token.tmp} or {@code .tmp-backup.tmp} is not one.
     */
    static boolean isTemporaryName(String name) {
        int end = name.length() - TEMPORARY_PREFIX.length();
        if (end <= TEMPORARY_PREFIX.length() || !name.startsWith(TEMPORARY_PREFIX)
                || !name.endsWith(TEMPORARY_PREFIX)) {
            return false;
        }
        String number = name.substring(TEMPORARY_PREFIX.length(), end);
        try {
            return Long.toUnsignedString(Long.parseUnsignedLong(number)).equals(number);
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /**
     * Deletes the temporary files of {@link #writeWhole} a crash left in {@code dir} (regular files named as
     * {@link #isTemporaryName} says; at most 10,000 tried), before their renames: nothing reads them, and one may hold
     * a secret replaced since (a key). One that cannot be deleted (immutable, say) is counted and the others are
     * deleted still; a directory that cannot be listed is a failure too, and each caller warns once of them. Only
     * while no write in {@code dir} is under way: it would delete that write's file too. Listed through {@code dir/.}
     * (a FIFO in its place fails at once); a directory that is not there has none.
     */
    public LeftTemporaryFiles deleteLeftTemporaryFiles(Path dir) {
        int deleted = 0;
        int tried = 0;
        int failed = 0;
        List<IOException> failures = new ArrayList<>();
        String glob = TEMPORARY_PREFIX + "*" + TEMPORARY_PREFIX;
        try (DirectoryStream<Path> left = Files.newDirectoryStream(dir.resolve("."), glob)) {
            for (Path file : left) {
                Path named = dir.resolve(file.getFileName());
                if (!isTemporaryName(named.getFileName().toString())
                        || !Files.isRegularFile(named, LinkOption.NOFOLLOW_LINKS)) {
                    continue;
                }
                if (tried++ == MAX_LEFT_TEMPORARY_FILES) {
                    break;
                }
                try {
                    if (deleter.delete(named)) {
                        deleted++;
                    }
                } catch (IOException e) {
                    failed = keep(failures, failed, e);
                }
            }
        } catch (NoSuchFileException | NotDirectoryException e) {
            // no directory: no files left in it
        } catch (IOException e) {
            failed = keep(failures, failed, e);
        } catch (DirectoryIteratorException e) {
            failed = keep(failures, failed, e.getCause());
        }
        return new LeftTemporaryFiles(deleted, failed, List.copyOf(failures));
    }

    /** Adds {@code failure} to {@code failures} while they are fewer than {@value #MAX_FAILURES_KEPT}; how many now. */
    private static int keep(List<IOException> failures, int failed, IOException failure) {
        if (failures.size() < MAX_FAILURES_KEPT) {
            failures.add(failure);
        }
        return failed + 1;
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
            log.warn("Cannot sync the directory {}: a file written in it could be lost, or be the one it replaced,"
                    + " after a crash of the machine (a file system that cannot sync a directory, say). Not logged"
                    + " again.", dir);
        }
        return false;
    }
}
