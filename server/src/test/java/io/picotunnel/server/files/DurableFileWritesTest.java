package io.picotunnel.server.files;

import ch.qos.logback.classic.Level;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Files written whole, then named, then their names synced, on a real file system. */
class DurableFileWritesTest {

    private static final Set<PosixFilePermission> READABLE = PosixFilePermissions.fromString("rw-r--r--");

    @TempDir
    Path dir;

    @Test
    void aFileIsReplacedWholeWithItsPermissionsAndNoTemporaryFileLeft() throws IOException {
        Path file = Files.writeString(dir.resolve("note"), "the old content, longer than the new");

        assertThat(DurableFileWrites.write(file, "new".getBytes(StandardCharsets.US_ASCII), READABLE))
                .as("Linux opens and syncs a directory").isTrue();

        assertThat(Files.readString(file)).isEqualTo("new");
        assertThat(Files.getPosixFilePermissions(file)).isEqualTo(READABLE);
        assertThat(names()).containsExactly("note");
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
        });

        assertThat(writes.replace(file, "key".getBytes(StandardCharsets.US_ASCII), READABLE)).isTrue();

        assertThat(Files.readString(file)).isEqualTo("key");
        assertThat(Files.getPosixFilePermissions(file)).isEqualTo(READABLE);
        assertThat(names()).containsExactly("key");
    }

    /**
     * A write cut short (here its move, onto a directory in the file's place) leaves no temporary file: one left at
     * every failed attempt (ACME retries at every check) would fill the directory.
     */
    @Test
    void aWriteThatFailsLeavesNoTemporaryFile() throws IOException {
        Path inTheWay = Files.createDirectories(dir.resolve("note").resolve("not-empty")).getParent();

        assertThatThrownBy(() -> DurableFileWrites.write(inTheWay, new byte[] {1}, READABLE))
                .isInstanceOf(IOException.class);

        assertThat(names()).containsExactly("note");
    }

    /** A sync before the rename would leave the new name as undurable as without one. */
    @Test
    void theDirectoryIsSyncedOnceTheFileHasItsNameAndContent() throws IOException {
        Path file = dir.resolve("token");
        List<String> seenAtSync = new ArrayList<>();
        DurableFileWrites writes = new DurableFileWrites(synced -> {
            assertThat(synced).isEqualTo(dir);
            seenAtSync.addAll(names());
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
        assertThat(names()).containsExactly("file0", "file1", "file2");
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
        assertThat(names()).containsExactly("certificate");
    }

    /** A file written whole by another (SQLite's backup) takes the name, and the name is synced after. */
    @Test
    void aFileMovedIntoPlaceReplacesTheOldOneBeforeTheDirectoryIsSynced() throws IOException {
        Path file = Files.writeString(dir.resolve("backup.db"), "older");
        Path partial = Files.writeString(dir.resolve(".backup.db.partial"), "newer");
        List<String> seenAtSync = new ArrayList<>();
        DurableFileWrites writes = new DurableFileWrites(synced -> {
            seenAtSync.addAll(names());
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

    private List<String> names() {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(f -> f.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
