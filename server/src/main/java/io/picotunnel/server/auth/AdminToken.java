package io.picotunnel.server.auth;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * The admin token for the API: the operator's ({@code PICOTUNNEL_ADMIN_TOKEN}), or else the one in
 * {@code <data>/admin-token}, or else a new one generated into that file (mode 0600).
 */
public final class AdminToken {

    public static final String FILE_NAME = "admin-token";
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

    /** The token and whether it was generated just now (then, and only then, it is shown to the operator). */
    public record Resolved(String token, boolean generated, Path file) {
        @Override
        public String toString() {
            return "Resolved[generated=" + generated + ", file=" + file + "]";
        }
    }

    private AdminToken() {
    }

    public static Resolved resolve(String configured, Path dataDir) throws IOException {
        Path file = dataDir.resolve(FILE_NAME);
        if (configured != null) {
            return new Resolved(configured, false, null);
        }
        if (Files.exists(file)) {
            String stored = Files.readString(file, StandardCharsets.UTF_8).strip();
            if (stored.isEmpty()) {
                throw new IOException("the admin token file " + file + " is empty; delete it to have a new token generated");
            }
            restrict(file);
            return new Resolved(stored, false, file);
        }
        String token = Secrets.newToken();
        if (posix(dataDir)) {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
        } else {
            Files.createFile(file);
        }
        Files.writeString(file, token + "\n", StandardCharsets.UTF_8, StandardOpenOption.TRUNCATE_EXISTING);
        return new Resolved(token, true, file);
    }

    private static void restrict(Path file) throws IOException {
        if (posix(file.getParent()) && !Files.getPosixFilePermissions(file).equals(OWNER_ONLY)) {
            Files.setPosixFilePermissions(file, OWNER_ONLY);
        }
    }

    private static boolean posix(Path dir) throws IOException {
        return Files.getFileStore(dir).supportsFileAttributeView("posix");
    }
}
