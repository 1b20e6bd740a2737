package io.picotunnel.server;

import io.picotunnel.server.config.Setting;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/** The data directory: created if missing, readable by its owner only (0700), and checked to be writable. */
final class DataDirectory {

    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rwx------");
    private static final String HOW = "; fix it or choose another directory with " + Setting.DATA_DIR.flag() + " or "
            + Setting.DATA_DIR.envVar() + ".";

    private DataDirectory() {
    }

    static Path prepare(Path dir) {
        Path absolute = dir.toAbsolutePath().normalize();
        if (Files.exists(absolute) && !Files.isDirectory(absolute)) {
            throw new StartupException("The data directory " + absolute + " is not a directory" + HOW);
        }
        try {
            if (!Files.exists(absolute)) {
                Files.createDirectories(absolute);
            }
        } catch (IOException e) {
            throw new StartupException("Cannot create the data directory " + absolute + " (" + describe(e) + ")" + HOW, e);
        }
        try {
            if (Files.getFileStore(absolute).supportsFileAttributeView("posix")) {
                Files.setPosixFilePermissions(absolute, OWNER_ONLY);
            }
            Path probe = Files.createTempFile(absolute, ".write-check", ".tmp");
            Files.delete(probe);
        } catch (IOException e) {
            throw new StartupException("The data directory " + absolute + " is not writable (" + describe(e) + ")" + HOW, e);
        }
        return absolute;
    }

    private static String describe(IOException e) {
        return e.getClass().getSimpleName().replace("Exception", "").replaceAll("([a-z])([A-Z])", "$1 $2").toLowerCase(java.util.Locale.ROOT)
                + (e.getMessage() == null ? "" : ": " + e.getMessage());
    }
}
