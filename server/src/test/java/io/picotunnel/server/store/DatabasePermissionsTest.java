package io.picotunnel.server.store;

import io.picotunnel.server.files.FileStoreWithoutPosix;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** The modes of a new database's files, which hold the tunnels' tokens, on a real file system. */
class DatabasePermissionsTest {

    @TempDir
    Path dataDir;

    private Map<String, String> modes() throws IOException {
        Map<String, String> modes = new TreeMap<>();
        try (Stream<Path> files = Files.list(dataDir)) {
            files.forEach(file -> {
                try {
                    modes.put(file.getFileName().toString(),
                            PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
        return modes;
    }

    @Test
    void aNewDatabaseAndItsWalAndShmAreOwnerOnly() throws IOException {
        try (Database database = Database.open(dataDir.resolve(Store.DATABASE_FILE))) {
            String name = database.file().getFileName().toString();
            assertThat(modes()).containsOnlyKeys(name, name + "-wal", name + "-shm")
                    .allSatisfy((file, mode) -> assertThat(mode).as(file).isEqualTo("rw-------"));
        }
    }

    /**
     * Where the data directory's file store says it has no POSIX permissions but its file system takes them, the new
     * database is owner-only, and so are the -wal and -shm SQLite makes with its mode. Left for SQLite to create
     * there, they had the umask's rw-r--r--.
     */
    @Test
    void aFileStoreWithoutPosixPermissionsOnAFileSystemWithThemGetsAnOwnerOnlyDatabase(@TempDir Path zipDir)
            throws IOException {
        FileStoreWithoutPosix.assumeTheUmaskLetsOthersRead(dataDir);
        try (FileStoreWithoutPosix withoutPosix = new FileStoreWithoutPosix(zipDir.resolve("store.zip"));
             Database database = Database.open(dataDir.resolve(Store.DATABASE_FILE), Database.READ_WAIT,
                     withoutPosix.lookup())) {
            String name = database.file().getFileName().toString();
            assertThat(modes()).containsOnlyKeys(name, name + "-wal", name + "-shm")
                    .allSatisfy((file, mode) -> assertThat(mode).as(file).isEqualTo("rw-------"));
        }
    }
}
