package io.picotunnel.server.auth;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
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
        write(file, token + "\n");
        return new Resolved(token, true, file);
    }

    /**
     * Writes the file whole or not at all: into a file of its own first, on the disk before it takes the name. Created
     * and then written in place, a write that failed (a full disk) or a crash left an empty file, and every later start
     * failed on it until the operator deleted it.
     */
    private static void write(Path file, String content) throws IOException {
        Path dir = file.getParent();
        Path temporary = posix(dir)
                ? Files.createTempFile(dir, "." + FILE_NAME, ".tmp", PosixFilePermissions.asFileAttribute(OWNER_ONLY))
                : Files.createTempFile(dir, "." + FILE_NAME, ".tmp");
        try {
            try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.WRITE)) {
                ByteBuffer bytes = ByteBuffer.wrap(content.getBytes(StandardCharsets.UTF_8));
                while (bytes.hasRemaining()) {
                    channel.write(bytes);
                }
                channel.force(true);
            }
            Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temporary);
        }
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
