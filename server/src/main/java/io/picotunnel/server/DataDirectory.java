package io.picotunnel.server;

import io.picotunnel.server.config.Setting;
import io.picotunnel.server.files.PosixPermissions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * The data directory: created if missing, checked to be writable, and made readable by its owner only (0700) when
 * the server owns it.
 */
final class DataDirectory {

    private static final Logger log = LoggerFactory.getLogger(DataDirectory.class);
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
            Path probe = Files.createTempFile(absolute, ".write-check", ".tmp");
            try {
                restrictToOwner(absolute, probe);
            } finally {
                Files.delete(probe);
            }
        } catch (IOException e) {
            throw new StartupException("The data directory " + absolute + " is not writable (" + describe(e) + ")" + HOW, e);
        }
        return absolute;
    }

    /**
     * Only its owner may change a directory's mode: a Kubernetes volume with {@code fsGroup} (root's, writable through
     * the server's group) or a bind mount made by root is used as it is, as every file the server keeps secrets in
     * is created readable by its owner only. A mode change that fails all the same is no reason not to start.
     */
    private static void restrictToOwner(Path dir, Path ownFile) {
        try {
            if (!PosixPermissions.supported(dir)
                    || Files.getPosixFilePermissions(dir).equals(OWNER_ONLY)) {
                return;
            }
            if (!Files.getOwner(dir).equals(Files.getOwner(ownFile))) {
                log.info("The data directory {} belongs to {}, not to this process: its mode is left as it is.", dir,
                        Files.getOwner(dir).getName());
                return;
            }
            Files.setPosixFilePermissions(dir, OWNER_ONLY);
        } catch (IOException e) {
            log.warn("Could not make the data directory {} readable by its owner only ({}); going on, as the files the "
                    + "server keeps in it are", dir, describe(e));
        }
    }

    private static String describe(IOException e) {
        return e.getClass().getSimpleName().replace("Exception", "").replaceAll("([a-z])([A-Z])", "$1 $2").toLowerCase(java.util.Locale.ROOT)
                + (e.getMessage() == null ? "" : ": " + e.getMessage());
    }
}
