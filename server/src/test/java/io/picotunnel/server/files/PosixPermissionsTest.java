package io.picotunnel.server.files;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** Whether a directory has POSIX permissions, on a real (Linux) file system. */
class PosixPermissionsTest {

    @TempDir
    Path dir;

    @Test
    void aDirectoryWhoseFileStoreIsFoundHasThePermissionsOfItsFileStore() throws IOException {
        assertThat(PosixPermissions.supported(dir))
                .isEqualTo(Files.getFileStore(dir).supportsFileAttributeView("posix"))
                .as("Linux's file systems have them").isTrue();
    }

    /**
     * Where the directory's mount is not listed (a chroot, some containers), its file store cannot be looked up: its
     * file system answers, where the admin token's check, the database's creation and the data directory's mode failed.
     */
    @Test
    void aDirectoryWhoseFileStoreCannotBeFoundHasThePermissionsOfItsFileSystem() {
        boolean supported = PosixPermissions.supported(dir, path -> {
            throw new IOException("Mount point not found");
        });

        assertThat(supported).isEqualTo(dir.getFileSystem().supportedFileAttributeViews().contains("posix")).isTrue();
    }

    /**
     * A directory not created yet (the data directory a restore creates) has the permissions of its nearest existing
     * parent's file store, where the failed lookup of its own had its file system answer (Linux's: with them, on a FAT
     * volume say): a store without POSIX permissions on a file system with them gives only the owner's of those asked.
     */
    @Test
    void aDirectoryNotCreatedYetHasThePermissionsOfItsNearestExistingParentsFileStore() throws IOException {
        try (FileSystem zip = FileSystems.newFileSystem(dir.resolve("store.zip"), Map.of("create", "true"))) {
            FileStore withoutPosix = Files.getFileStore(zip.getPath("/"));
            PosixPermissions.FileStoreLookup lookup = path -> {
                if (!Files.exists(path)) {
                    throw new NoSuchFileException(path.toString());
                }
                return withoutPosix;
            };

            FileAttribute<?>[] attributes = PosixPermissions.initial(dir.resolve("data/store"),
                    PosixFilePermissions.fromString("rwxr-x---"), lookup);

            assertThat(attributes).as("the parent's file store has none").singleElement()
                    .extracting(FileAttribute::value).isEqualTo(PosixFilePermissions.fromString("rwx------"));
        }
    }

    /**
     * A file is created with the permissions where its directory has POSIX ones, without where its file system has
     * not (a zip file's here; Windows' refuses them, UnsupportedOperationException, so that a backup's or a restore's
     * copy asked with them was never made; this zip file system takes them without a word).
     */
    @Test
    void aFileIsCreatedWithThePermissionsWhereTheyAreAndWithoutWhereTheyAreNot() throws IOException {
        Set<PosixFilePermission> ownerOnly = PosixFilePermissions.fromString("rw-------");
        Files.createFile(dir.resolve("backup.db"), PosixPermissions.initial(dir, ownerOnly));
        assertThat(Files.getPosixFilePermissions(dir.resolve("backup.db"))).isEqualTo(ownerOnly);

        try (FileSystem zip = FileSystems.newFileSystem(dir.resolve("store.zip"), Map.of("create", "true"))) {
            Path root = zip.getPath("/");

            assertThat(PosixPermissions.initial(root, ownerOnly)).as("no POSIX permissions in a zip file").isEmpty();
            Files.createFile(root.resolve("backup.db"), PosixPermissions.initial(root, ownerOnly));
            assertThat(root.resolve("backup.db")).exists();
        }
    }
}
