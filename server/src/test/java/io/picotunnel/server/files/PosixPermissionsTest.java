package io.picotunnel.server.files;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

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
}
