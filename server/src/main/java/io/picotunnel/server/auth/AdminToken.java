package io.picotunnel.server.auth;

import io.picotunnel.protocol.config.PrintableToken;
import io.picotunnel.server.files.BoundedFileReads;
import io.picotunnel.server.files.DurableFileWrites;
import io.picotunnel.server.files.PosixPermissions;
import io.picotunnel.server.store.FileErrors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Locale;
import java.util.Set;

/**
 * The admin token for the API: the operator's ({@code PICOTUNNEL_ADMIN_TOKEN}), or else the one in
 * {@code <data>/admin-token}, or else a new one generated into that file (mode 0600).
 */
public final class AdminToken {

    private static final Logger log = LoggerFactory.getLogger(AdminToken.class);

    public static final String FILE_NAME = "admin-token";
    /**
     * The longest token, in the file as in {@code PICOTUNNEL_ADMIN_TOKEN} (ServerConfig's MAX_ADMIN_TOKEN_LENGTH is
     * this one): the file's token used to be let through up to its 4096 bytes, where the variable refused one longer.
     */
    public static final int MAX_TOKEN_LENGTH = 1024;
    /**
     * The shortest token, in the file as in {@code PICOTUNNEL_ADMIN_TOKEN} (ServerConfig's MIN_ADMIN_TOKEN_LENGTH is this
     * one); a generated one has 64 hex characters.
     */
    public static final int MIN_TOKEN_LENGTH = 16;
    /** How the example's placeholder begins, in any case: {@code change-me-to-a-long-random-token}. */
    private static final String PLACEHOLDER_PREFIX = "change-me";
    /** Far more than any token and the blanks around it: a larger file is not one the server wrote. */
    static final int MAX_FILE_SIZE = 4096;
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
        return resolve(configured, dataDir, () -> {
        });
    }

    /** {@link #resolve(String, Path)}, running {@code afterLook} between the look at the stored file and its read. */
    static Resolved resolve(String configured, Path dataDir, Runnable afterLook) throws IOException {
        Path file = dataDir.resolve(FILE_NAME);
        deleteLeftTemporaryFiles(dataDir);
        if (configured != null) {
            return new Resolved(configured, false, null);
        }
        if (Files.exists(file)) {
            String stored = readStored(file, afterLook).strip();
            requireToken(file, stored);
            restrict(file);
            return new Resolved(stored, false, file);
        }
        String token = Secrets.newToken();
        write(file, token + "\n");
        return new Resolved(token, true, file);
    }

    /** Why a token cannot be an admin token, the file's as {@code PICOTUNNEL_ADMIN_TOKEN}'s; each caller words it. */
    public enum Refusal {
        TOO_SHORT,
        TOO_LONG,
        /** A character that is not printable ASCII, or a space. */
        NOT_PRINTABLE,
        /** The placeholder of the Kubernetes example (examples/kubernetes/secret.yaml), known to everyone. */
        PLACEHOLDER
    }

    /**
     * The one check of an admin token, in the file as in {@code PICOTUNNEL_ADMIN_TOKEN} (ServerConfig): from 16 to 1024
     * printable ASCII characters without spaces, and not the example's placeholder ({@code change-me...}, any case);
     * null when {@code token} is one.
     */
    public static Refusal refusal(String token) {
        PrintableToken.Flaw flaw = PrintableToken.flaw(token, MIN_TOKEN_LENGTH, MAX_TOKEN_LENGTH);
        if (flaw != null) {
            return switch (flaw) {
                case TOO_SHORT -> Refusal.TOO_SHORT;
                case TOO_LONG -> Refusal.TOO_LONG;
                case NOT_PRINTABLE -> Refusal.NOT_PRINTABLE;
            };
        }
        return token.toLowerCase(Locale.ROOT).startsWith(PLACEHOLDER_PREFIX) ? Refusal.PLACEHOLDER : null;
    }

    /** Refuses a stored token {@link #refusal} refuses. The token is a secret, never repeated in the error. */
    private static void requireToken(Path file, String stored) throws IOException {
        if (stored.isEmpty()) {
            throw new IOException("the admin token file " + file + " is empty; delete it to have a new token generated");
        }
        Refusal refusal = refusal(stored);
        if (refusal == null) {
            return;
        }
        String why = switch (refusal) {
            case TOO_LONG -> "holds a token of " + stored.length() + " characters, longer than the " + MAX_TOKEN_LENGTH
                    + " an admin token may have; put a shorter token in it";
            case TOO_SHORT -> "holds a token of " + stored.length() + " characters, shorter than the " + MIN_TOKEN_LENGTH
                    + " an admin token must have; put a longer token in it";
            case NOT_PRINTABLE -> "holds a token with a character that is not printable ASCII or is a space (an admin"
                    + " token is printable ASCII without spaces); put such a token in it";
            case PLACEHOLDER -> "holds the placeholder of an example (examples/kubernetes/secret.yaml), known to"
                    + " everyone; put a random token in it (e.g. openssl rand -hex 32)";
        };
        throw new IOException("the admin token file " + file + " " + why + ", or delete it to have a new token generated");
    }

    /**
     * The stored token's file, read no further than {@link #MAX_FILE_SIZE}. Only a regular file (or a link to one: a
     * secret mounted elsewhere) is read: the open of a FIFO in its place would wait for a writer, holding the start for
     * good, and a device may never end. One put there between the look and the open (Java opens with no O_NONBLOCK)
     * costs {@link BoundedFileReads}' timeout, then stops the start with the file named, where it held it for good.
     */
    private static String readStored(Path file, Runnable afterLook) throws IOException {
        BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
        if (!attributes.isRegularFile()) {
            throw new IOException("the admin token file " + file + " is not a regular file (a FIFO, a device or a"
                    + " directory); put the token in a regular file, or delete it to have a new token generated");
        }
        afterLook.run();
        try {
            return new String(BoundedFileReads.read(file, MAX_FILE_SIZE), StandardCharsets.UTF_8);
        } catch (BoundedFileReads.TooLargeException e) {
            throw new IOException("the admin token file " + file + " holds more than " + MAX_FILE_SIZE + " bytes, not"
                    + " a token; put the token alone in it, or delete it to have a new token generated", e);
        }
    }

    /**
     * Writes the file whole or not at all, and its name on the disk ({@link DurableFileWrites}; whether its directory
     * was synced is returned). Created and then written in place, a write that failed (a full disk) or a crash left an
     * empty file, and every later start failed on it until the operator deleted it; and the token is printed once, so
     * a machine's crash after that must not lose the file, the next start generating another token.
     */
    static boolean write(Path file, String content) throws IOException {
        return DurableFileWrites.standard().replace(file, content.getBytes(StandardCharsets.UTF_8), OWNER_ONLY);
    }

    /**
     * Deletes the temporary files ({@code .tmp<digits>.tmp}, {@link DurableFileWrites#deleteLeftTemporaryFiles}) that a
     * crash or a {@code kill -9} left in the data directory during the token's write, before its rename: each may hold
     * a token, and nothing else deletes them. The token's is the only write of that kind there, and this runs before
     * it, under the data directory's lock. One that cannot be deleted (or a directory that cannot be listed) is one
     * WARN naming it and the cause, the others deleted still, and the start goes on, as ACME's clean-up does: it
     * stopped the start with "Cannot read or create the admin token", where the token is no part of it.
     */
    private static void deleteLeftTemporaryFiles(Path dataDir) {
        DurableFileWrites.LeftTemporaryFiles left = DurableFileWrites.standard().deleteLeftTemporaryFiles(dataDir);
        if (left.deleted() > 0) {
            log.info("Deleted {} temporary files left in {} by writes of the admin token a crash cut short",
                    left.deleted(), dataDir);
        }
        if (left.failed() > 0) {
            log.warn("Cannot delete the temporary files left in {} by writes of the admin token a crash cut short ({});"
                    + " each may hold a token: delete them ({}) by hand, the next start tries again", dataDir,
                    FileErrors.describe(left.firstFailures(), left.failed()), dataDir.resolve(".tmp<digits>.tmp"));
        }
    }

    private static void restrict(Path file) throws IOException {
        if (PosixPermissions.supported(file.getParent()) && !Files.getPosixFilePermissions(file).equals(OWNER_ONLY)) {
            Files.setPosixFilePermissions(file, OWNER_ONLY);
        }
    }
}
