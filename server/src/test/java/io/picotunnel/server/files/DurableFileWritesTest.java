package io.picotunnel.server.files;

import ch.qos.logback.classic.Level;
import io.picotunnel.testkit.DirectoryNames;
import io.picotunnel.testkit.ImmutableFile;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Files written whole, then named, then their names synced, on a real file system. */
class DurableFileWritesTest {

    private static final Set<PosixFilePermission> READABLE = PosixFilePermissions.fromString("rw-r--r--");
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

    @TempDir
    Path dir;

    @Test
    void aFileIsReplacedWholeWithItsPermissionsAndNoTemporaryFileLeft() throws IOException {
        Path file = Files.writeString(dir.resolve("note"), "the old content, longer than the new");

        assertThat(DurableFileWrites.standard().replace(file, "new".getBytes(StandardCharsets.US_ASCII), READABLE))
                .as("Linux opens and syncs a directory").isTrue();

        assertThat(Files.readString(file)).isEqualTo("new");
        assertThat(Files.getPosixFilePermissions(file)).isEqualTo(leftByTheUmask(READABLE));
        assertThat(DirectoryNames.of(dir)).containsExactly("note");
    }

    /**
     * Where the directory's mount is not listed (a chroot, some containers), its file store cannot be looked up: the
     * file system says whether it has POSIX permissions, where every write failed.
     */
    @Test
    void aDirectoryWhoseFileStoreCannotBeFoundIsWrittenWithThePermissionsOfItsFileSystem() throws IOException {
        Path file = dir.resolve("key");
        DurableFileWrites writes = new DurableFileWrites(DirectorySync::sync, path -> {
            throw new IOException("Mount point not found");
        }, Files::move);

        assertThat(writes.replace(file, "key".getBytes(StandardCharsets.US_ASCII), READABLE)).isTrue();

        assertThat(Files.readString(file)).isEqualTo("key");
        assertThat(Files.getPosixFilePermissions(file)).isEqualTo(leftByTheUmask(READABLE));
        assertThat(DirectoryNames.of(dir)).containsExactly("key");
    }

    /**
     * A write cut short (here its move, onto a directory in the file's place) leaves no temporary file: one left at
     * every failed attempt (ACME retries at every check) would fill the directory.
     */
    @Test
    void aWriteThatFailsLeavesNoTemporaryFile() throws IOException {
        Path inTheWay = Files.createDirectories(dir.resolve("note").resolve("not-empty")).getParent();

        assertThatThrownBy(() -> DurableFileWrites.standard().replace(inTheWay, new byte[] {1}, READABLE))
                .isInstanceOf(IOException.class);

        assertThat(DirectoryNames.of(dir)).containsExactly("note");
    }

    /** A sync before the rename would leave the new name as undurable as without one. */
    @Test
    void theDirectoryIsSyncedOnceTheFileHasItsNameAndContent() throws IOException {
        Path file = dir.resolve("token");
        List<String> seenAtSync = new ArrayList<>();
        DurableFileWrites writes = new DurableFileWrites(synced -> {
            assertThat(synced).isEqualTo(dir);
            seenAtSync.addAll(DirectoryNames.of(dir));
            seenAtSync.add(read(file));
            return DirectorySync.sync(synced);
        });

        assertThat(writes.replace(file, "secret".getBytes(StandardCharsets.US_ASCII), READABLE)).isTrue();

        assertThat(seenAtSync).as("the directory's names, then the file's content, when it was synced")
                .containsExactly("token", "secret");
    }

    /** A file system that cannot sync a directory fails every write's sync: said once, not at every write. */
    @Test
    void aDirectoryThatCannotBeSyncedIsLoggedOnceAndEachWriteSaysSo() throws IOException {
        DurableFileWrites writes = new DurableFileWrites(synced -> false);

        try (LogCapture log = new LogCapture(DurableFileWrites.class, Level.WARN)) {
            for (int i = 0; i < 3; i++) {
                assertThat(writes.replace(dir.resolve("file" + i), new byte[] {1}, READABLE)).as("write %d", i).isFalse();
            }
            assertThat(writes.sync(dir)).isFalse();

            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .startsWith("Cannot sync the directory " + dir + ":").endsWith("Not logged again.");
        }
        assertThat(DirectoryNames.of(dir)).containsExactly("file0", "file1", "file2");
    }

    /**
     * An interrupt during the sync (the shutdown's, on the ACME thread) closes the directory's channel: DirectorySync
     * returns false and keeps the interrupt, which says nothing of the file system, so no warning; a sync that fails
     * without one still has it.
     */
    @Test
    void aSyncThatFailsOnAnInterruptedThreadIsNotWarnedOfAndKeepsTheInterrupt() throws IOException {
        DurableFileWrites writes = new DurableFileWrites(synced -> false);

        try (LogCapture log = new LogCapture(DurableFileWrites.class, Level.WARN)) {
            boolean synced;
            boolean interruptKept;
            Thread.currentThread().interrupt();
            try {
                synced = writes.replace(dir.resolve("certificate"), new byte[] {1}, READABLE);
            } finally {
                interruptKept = Thread.interrupted();
            }

            assertThat(synced).isFalse();
            assertThat(interruptKept).as("the interrupt kept").isTrue();
            assertThat(log.messages(Level.WARN)).as("WARN after an interrupted sync").isEmpty();

            assertThat(writes.sync(dir)).isFalse();
            assertThat(log.messages(Level.WARN)).as("WARN after a sync that failed without an interrupt").hasSize(1);
        }
        assertThat(DirectoryNames.of(dir)).containsExactly("certificate");
    }

    /** A file written whole by another (SQLite's backup) takes the name, and the name is synced after. */
    @Test
    void aFileMovedIntoPlaceReplacesTheOldOneBeforeTheDirectoryIsSynced() throws IOException {
        Path file = Files.writeString(dir.resolve("backup.db"), "older");
        Path partial = Files.writeString(dir.resolve(".backup.db.partial"), "newer");
        List<String> seenAtSync = new ArrayList<>();
        DurableFileWrites writes = new DurableFileWrites(synced -> {
            seenAtSync.addAll(DirectoryNames.of(dir));
            seenAtSync.add(read(file));
            return false;
        });

        try (LogCapture log = new LogCapture(DurableFileWrites.class, Level.WARN)) {
            assertThat(writes.moveIntoPlace(partial, file)).isFalse();

            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .startsWith("Cannot sync the directory " + dir + ":");
        }
        assertThat(seenAtSync).containsExactly("backup.db", "newer");
    }

    /**
     * A file system that cannot move a file over another atomically (AtomicMoveNotSupportedException) still has it
     * replaced, by a plain move, as a file moved into place had: a write of the admin token or of ACME's files failed.
     */
    @Test
    void aFileIsReplacedByAPlainMoveWhereTheFileSystemCannotMoveAtomically() throws IOException {
        Path file = Files.writeString(dir.resolve("token"), "old");
        List<String> moves = new ArrayList<>();
        DurableFileWrites.Mover noAtomicMove = (from, to, options) -> {
            boolean atomic = List.of(options).contains(StandardCopyOption.ATOMIC_MOVE);
            moves.add(atomic ? "atomic" : "plain");
            if (atomic) {
                throw new AtomicMoveNotSupportedException(from.toString(), to.toString(), "not on this file system");
            }
            Files.move(from, to, options);
        };
        DurableFileWrites writes = new DurableFileWrites(DirectorySync::sync, Files::getFileStore, noAtomicMove);

        assertThat(writes.replace(file, "new".getBytes(StandardCharsets.US_ASCII), READABLE)).isTrue();

        assertThat(moves).containsExactly("atomic", "plain");
        assertThat(Files.readString(file)).isEqualTo("new");
        assertThat(DirectoryNames.of(dir)).containsExactly("token");
    }

    /**
     * A temporary file that cannot be deleted after the failure that ended its write (here a directory with something
     * in it, put in its place) is said beside that failure: its delete's exception took the failure's place.
     */
    @Test
    void theFailureOfAWriteIsThrownWithTheFailedDeleteOfItsTemporaryFileSuppressed() {
        IOException moveFailed = new IOException("the move failed");
        DurableFileWrites.Mover failingUndeletably = (from, to, options) -> {
            Files.delete(from);
            Files.createDirectories(from.resolve("in-the-way"));
            throw moveFailed;
        };
        DurableFileWrites writes = new DurableFileWrites(DirectorySync::sync, Files::getFileStore, failingUndeletably);

        assertThatThrownBy(() -> writes.replace(dir.resolve("token"), new byte[] {1}, READABLE)).isSameAs(moveFailed);

        assertThat(moveFailed.getSuppressed()).singleElement().isInstanceOf(DirectoryNotEmptyException.class);
    }

    /** A certificate's files: each in place before the directory is synced, once. */
    @Test
    void filesMovedIntoPlaceTogetherAreSyncedOnceAfterTheLastMove() throws IOException {
        Path key = Files.writeString(dir.resolve("key.next"), "key");
        Path chain = Files.writeString(dir.resolve("crt.next"), "chain");
        List<List<String>> seenAtSync = new ArrayList<>();
        DurableFileWrites writes = new DurableFileWrites(synced -> {
            seenAtSync.add(DirectoryNames.of(synced));
            return DirectorySync.sync(synced);
        });

        assertThat(writes.moveIntoPlace(List.of(new DurableFileWrites.Move(key, dir.resolve("key")),
                new DurableFileWrites.Move(chain, dir.resolve("crt"))))).isTrue();

        assertThat(seenAtSync).containsExactly(List.of("crt", "key"));
        assertThat(read(dir.resolve("key"))).isEqualTo("key");
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A temporary file a crash left that cannot be deleted (immutable: chattr +i, which stops root too) is counted and
     * kept with why, and the others are deleted still: the clean-up stopped at the first with its IOException, and
     * every one listed after it stayed for good, a key or a token among them.
     */
    @Test
    void aLeftTemporaryFileThatCannotBeDeletedIsToldOfAndTheOthersAreDeletedStill() throws IOException {
        Path stuck = Files.writeString(dir.resolve(".tmp4711.tmp"), "a key cut short");
        try (ImmutableFile immutable = ImmutableFile.make(stuck)) {
            List<String> others = List.of(".tmp0.tmp", ".tmp1.tmp", ".tmp42.tmp", ".tmp9999999999.tmp",
                    ".tmp18446744073709551615.tmp");
            for (String name : others) {
                Files.writeString(dir.resolve(name), "a note cut short");
            }
            Files.createDirectories(dir.resolve(".tmp7.tmp").resolve("not-empty"));

            DurableFileWrites.LeftTemporaryFiles left = DurableFileWrites.standard().deleteLeftTemporaryFiles(dir);

            assertThat(left.deleted()).isEqualTo(others.size());
            assertThat(left.failed()).isEqualTo(1);
            assertThat(left.firstFailures()).singleElement().satisfies(failure -> assertThat(failure)
                    .isInstanceOf(FileSystemException.class)
                    .hasMessage(immutable.path() + ": Operation not permitted"));
            assertThat(DirectoryNames.of(dir)).as("a directory is none of ours").containsExactly(".tmp4711.tmp",
                    ".tmp7.tmp");
        }
    }

    /** Of many that cannot be deleted, the first few are kept to be named, and all are counted. */
    @Test
    void ofManyLeftTemporaryFilesThatCannotBeDeletedTheFirstThreeAreKeptAndAllCounted() throws IOException {
        for (int i = 1; i <= 5; i++) {
            Files.writeString(dir.resolve(".tmp" + i + ".tmp"), "a note cut short");
        }
        DurableFileWrites readOnly = new DurableFileWrites(DirectorySync::sync, Files::getFileStore, Files::move,
                file -> {
                    throw new FileSystemException(file.toString(), null, "Read-only file system");
                });

        DurableFileWrites.LeftTemporaryFiles left = readOnly.deleteLeftTemporaryFiles(dir);

        assertThat(left.deleted()).isZero();
        assertThat(left.failed()).isEqualTo(5);
        assertThat(left.firstFailures()).hasSize(3).allSatisfy(failure -> assertThat(failure)
                .hasMessageEndingWith(": Read-only file system"));
    }

    /**
     * The clean-up takes only the names a write gives its temporary file ({@code .tmp}, an unsigned 64-bit number as
     * Java writes it, {@code .tmp}), not an operator's {@code .tmp-backup.tmp} that {@code .tmp*.tmp} matched.
     */
    @Test
    void theCleanUpTakesTheNamesAWritesTemporaryFilesHaveAndNoOthers() throws IOException {
        List<String> temporaryNames = new ArrayList<>();
        DurableFileWrites writes = new DurableFileWrites(DirectorySync::sync, Files::getFileStore,
                (from, to, options) -> {
                    temporaryNames.add(from.getFileName().toString());
                    Files.move(from, to, options);
                });
        for (int i = 0; i < 20; i++) {
            writes.replace(dir.resolve("note"), new byte[] {(byte) i}, READABLE);
        }

        assertThat(temporaryNames).hasSize(20).doesNotHaveDuplicates()
                .allSatisfy(name -> assertThat(DurableFileWrites.isTemporaryName(name)).as(name).isTrue());
        assertThat(List.of(".tmp0.tmp", ".tmp7.tmp", ".tmp18446744073709551615.tmp"))
                .allSatisfy(name -> assertThat(DurableFileWrites.isTemporaryName(name)).as(name).isTrue());
        assertThat(List.of(".tmp.tmp", ".tmp-backup.tmp", ".tmp.admin-token.tmp", ".tmp07.tmp", ".tmp+7.tmp",
                ".tmp-7.tmp", ".tmp18446744073709551616.tmp", ".tmp 7.tmp", ".tmp7.tmp.tmp", "tmp7.tmp", ".tmp7.tm",
                ".tmp\u0667.tmp"))
                .allSatisfy(name -> assertThat(DurableFileWrites.isTemporaryName(name)).as(name).isFalse());
        List<String> others = List.of(".tmp.tmp", ".tmp-backup.tmp", ".tmp.admin-token.tmp", ".tmp07.tmp",
                ".tmp+7.tmp", ".tmp-7.tmp", ".tmp18446744073709551616.tmp", ".tmp 7.tmp", ".tmp7.tmp.tmp");
        for (String name : others) {
            Files.writeString(dir.resolve(name), "an operator's");
        }
        for (String name : List.of(".tmp0.tmp", ".tmp7.tmp", ".tmp18446744073709551615.tmp")) {
            Files.writeString(dir.resolve(name), "a note cut short");
        }

        assertThat(DurableFileWrites.standard().deleteLeftTemporaryFiles(dir).deleted()).isEqualTo(3);

        List<String> kept = new ArrayList<>(others);
        kept.add("note");
        assertThat(DirectoryNames.of(dir)).containsExactlyInAnyOrderElementsOf(kept);
    }

    /**
     * A key's or a token's temporary file is owner-only from its creation, empty, before a byte is in it, and when it
     * takes the file's name; a readable file's has the permissions asked. Files.createFile without them made it with
     * the umask's rw-r--r--: anyone could read the key while it was written. The permissions asked are what the
     * umask leaves of them (027 or 077 takes the others' read of rw-r--r--).
     */
    @Test
    void aTemporaryFileHasThePermissionsAskedFromItsCreation() throws IOException {
        Set<PosixFilePermission> readable = leftByTheUmask(READABLE);
        Path created = DurableFileWrites.standard().createTemporaryFile(dir, OWNER_ONLY);
        assertThat(created).isEmptyFile();
        assertThat(Files.getPosixFilePermissions(created)).isEqualTo(OWNER_ONLY);
        assertThat(Files.getPosixFilePermissions(DurableFileWrites.standard().createTemporaryFile(dir, READABLE)))
                .isEqualTo(readable);
        Map<String, Set<PosixFilePermission>> atMove = new LinkedHashMap<>();
        DurableFileWrites writes = new DurableFileWrites(DirectorySync::sync, Files::getFileStore,
                (from, to, options) -> {
                    atMove.put(to.getFileName().toString(), Files.getPosixFilePermissions(from));
                    Files.move(from, to, options);
                });

        writes.replace(dir.resolve("key"), "key".getBytes(StandardCharsets.US_ASCII), OWNER_ONLY);
        writes.replace(dir.resolve("chain"), "chain".getBytes(StandardCharsets.US_ASCII), READABLE);

        assertThat(atMove).containsExactly(Map.entry("key", OWNER_ONLY), Map.entry("chain", readable));
        assertThat(Files.getPosixFilePermissions(dir.resolve("key"))).isEqualTo(OWNER_ONLY);
    }

    /** What the process's umask leaves of {@code permissions} given a file at its creation in {@link #dir}. */
    private Set<PosixFilePermission> leftByTheUmask(Set<PosixFilePermission> permissions) throws IOException {
        Path probe = Files.createFile(dir.resolve("umask-probe"));
        Set<PosixFilePermission> left = EnumSet.copyOf(permissions);
        left.retainAll(Files.getPosixFilePermissions(probe));
        Files.delete(probe);
        return left;
    }

    /**
     * Where the directory's file store says it has no POSIX permissions but its file system takes them (Linux's),
     * the temporary file is owner-only, as Files.createTempFile made it: created with none, it had the umask's
     * rw-r--r--, and a key or a token written there stayed readable by anyone.
     */
    @Test
    void aFileStoreWithoutPosixPermissionsOnAFileSystemWithThemGetsAnOwnerOnlyTemporaryFile() throws IOException {
        FileStoreWithoutPosix.assumeTheUmaskLetsOthersRead(dir);
        try (FileStoreWithoutPosix store = new FileStoreWithoutPosix(dir.resolve("store.zip"))) {
            PosixPermissions.FileStoreLookup withoutPosix = store.lookup();
            List<Set<PosixFilePermission>> atMove = new ArrayList<>();
            DurableFileWrites writes = new DurableFileWrites(DirectorySync::sync, withoutPosix, (from, to, options) -> {
                atMove.add(Files.getPosixFilePermissions(from));
                Files.move(from, to, options);
            });

            assertThat(Files.getPosixFilePermissions(writes.createTemporaryFile(dir, OWNER_ONLY)))
                    .isEqualTo(OWNER_ONLY);
            writes.replace(dir.resolve("key"), "key".getBytes(StandardCharsets.US_ASCII), OWNER_ONLY);

            assertThat(atMove).containsExactly(OWNER_ONLY);
            assertThat(Files.getPosixFilePermissions(dir.resolve("key"))).isEqualTo(OWNER_ONLY);
        }
    }

    /**
     * A name another file has already (a crash's temporary file, an operator's) is passed over for the next number,
     * that file untouched; a write that finds only taken names gives up after 100 with FileAlreadyExistsException.
     * Opened without CREATE_NEW, the other file was written over and moved away; without a bound, a loop for good.
     */
    @Test
    void aTemporaryNameThatIsTakenIsPassedOverAndTheOtherFileLeftAsItWas() throws IOException {
        Path taken = Files.writeString(dir.resolve(".tmp7.tmp"), "another's");
        List<String> temporaryNames = new ArrayList<>();
        long[] numbers = {7, 7, 8};
        AtomicInteger drawn = new AtomicInteger();
        DurableFileWrites writes = new DurableFileWrites(DirectorySync::sync, Files::getFileStore,
                (from, to, options) -> {
                    temporaryNames.add(from.getFileName().toString());
                    Files.move(from, to, options);
                }, Files::deleteIfExists, () -> numbers[drawn.getAndIncrement()]);

        writes.replace(dir.resolve("note"), new byte[] {1}, READABLE);

        assertThat(temporaryNames).containsExactly(".tmp8.tmp");
        assertThat(drawn).hasValue(3);
        assertThat(taken).hasContent("another's");

        AtomicInteger drawnAlwaysTaken = new AtomicInteger();
        DurableFileWrites alwaysTaken = new DurableFileWrites(DirectorySync::sync, Files::getFileStore, Files::move,
                Files::deleteIfExists, () -> {
                    drawnAlwaysTaken.incrementAndGet();
                    return 7;
                });

        assertThatThrownBy(() -> alwaysTaken.replace(dir.resolve("note"), new byte[] {2}, READABLE))
                .isInstanceOf(FileAlreadyExistsException.class).hasMessage(taken.toString());
        assertThat(drawnAlwaysTaken).hasValue(100);
        assertThat(taken).hasContent("another's");
        assertThat(DirectoryNames.of(dir)).containsExactly(".tmp7.tmp", "note");
        assertThat(dir.resolve("note")).hasBinaryContent(new byte[] {1});
    }
}
