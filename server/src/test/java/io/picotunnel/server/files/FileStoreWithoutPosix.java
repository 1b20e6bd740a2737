package io.picotunnel.server.files;

import java.io.IOException;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Map;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A file store that says it has no POSIX permissions (a zip file's), for a {@link PosixPermissions.FileStoreLookup}
 * that gives it for every directory of Linux's file system, which has them: as a store the JDK's fstypes.properties
 * marks so.
 */
public final class FileStoreWithoutPosix implements AutoCloseable {

    private final FileSystem zip;

    /** The zip file is created at {@code zipFile}, outside the directories the test looks into. */
    public FileStoreWithoutPosix(Path zipFile) throws IOException {
        zip = FileSystems.newFileSystem(zipFile, Map.of("create", "true"));
    }

    /** Skips the test where a file created without permissions in {@code dir} is not readable by others anyway. */
    public static void assumeTheUmaskLetsOthersRead(Path dir) throws IOException {
        Path probe = Files.createFile(dir.resolve("umask-probe"));
        try {
            assumeTrue(Files.getPosixFilePermissions(probe).contains(PosixFilePermission.OTHERS_READ),
                    "the umask lets others read a file created without permissions");
        } finally {
            Files.delete(probe);
        }
    }

    public PosixPermissions.FileStoreLookup lookup() {
        return path -> Files.getFileStore(zip.getPath("/"));
    }

    @Override
    public void close() throws IOException {
        zip.close();
    }
}
