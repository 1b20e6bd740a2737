package io.picotunnel.server.auth;

import ch.qos.logback.classic.Level;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.server.ServerConfig;
import io.picotunnel.server.files.BoundedFileReads;
import io.picotunnel.server.files.Fifo;
import io.picotunnel.testkit.DirectoryNames;
import io.picotunnel.testkit.ImmutableFile;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The admin token file in the data directory, on a real file system. */
class AdminTokenTest {

    @TempDir
    Path dir;
    private Path mounted;

    @AfterEach
    void unmount() throws Exception {
        if (mounted != null) {
            run("umount", mounted.toString());
        }
    }

    private static boolean run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        process.getInputStream().transferTo(OutputStream.nullOutputStream());
        return process.waitFor(30, TimeUnit.SECONDS) && process.exitValue() == 0;
    }

    /** A file system of 64 KiB of its own (tmpfs), so that it can be filled up without filling the machine's. */
    private Path smallDisk() throws Exception {
        Path disk = Files.createDirectories(dir.resolve("disk"));
        assumeTrue(run("mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", disk.toString()),
                "a tmpfs can be mounted here (root with CAP_SYS_ADMIN)");
        mounted = disk;
        return disk;
    }

    /** Writes into {@code file} until the file system says it is full. */
    private static void fill(Path file) {
        assertThatThrownBy(() -> {
            try (OutputStream out = Files.newOutputStream(file)) {
                byte[] block = new byte[4096];
                for (int i = 0; i < 1024; i++) {
                    out.write(block);
                    out.flush();
                }
            }
        }).as("the disk fills up").isInstanceOf(IOException.class);
    }

    @Test
    void aTokenNotWrittenForAFullDiskLeavesNoEmptyFileSoTheNextStartGeneratesOne() throws Exception {
        Path data = smallDisk();
        Path filler = data.resolve("filler");
        fill(filler);

        assertThatThrownBy(() -> AdminToken.resolve(null, data)).isInstanceOf(IOException.class);
        // An empty file left there refused every later start ("the admin token file is empty") until it was deleted.
        assertThat(data.resolve(AdminToken.FILE_NAME)).doesNotExist();

        Files.delete(filler);
        AdminToken.Resolved resolved = AdminToken.resolve(null, data);
        assertThat(resolved.generated()).isTrue();
        assertThat(resolved.token()).matches("[0-9a-f]{64}");
        assertThat(Files.readString(data.resolve(AdminToken.FILE_NAME), StandardCharsets.UTF_8))
                .isEqualTo(resolved.token() + "\n");
        assertThat(Files.getPosixFilePermissions(data.resolve(AdminToken.FILE_NAME)))
                .isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        assertThat(DirectoryNames.of(data)).as("no temporary file left").containsExactly(AdminToken.FILE_NAME);
    }

    /**
     * The rename that gives the generated token's file its name is an entry of the data directory, which nothing synced:
     * a machine's crash after the token was printed could lose the file, and the next start generate another token.
     * Here the sync's outcome; that it comes after the rename, DurableFileWritesTest shows.
     */
    @Test
    void theDirectoryIsSyncedAfterTheRenameThatGivesTheTokensFileItsName() throws Exception {
        Path file = dir.resolve(AdminToken.FILE_NAME);

        assertThat(AdminToken.write(file, "0123456789abcdef\n")).as("Linux opens and syncs a directory").isTrue();
        assertThat(Files.readString(file, StandardCharsets.UTF_8)).isEqualTo("0123456789abcdef\n");
    }

    /** Written through a file channel, which an interrupt closes, the token was lost (ClosedByInterruptException). */
    @Test
    void theTokensFileIsWrittenOnAnInterruptedThreadWhichKeepsTheInterrupt() throws Exception {
        Path file = dir.resolve(AdminToken.FILE_NAME);

        Thread.currentThread().interrupt();
        try {
            AdminToken.write(file, "0123456789abcdef\n");
            assertThat(Thread.currentThread().isInterrupted()).as("the interrupt is kept").isTrue();
        } finally {
            Thread.interrupted();
        }

        assertThat(Files.readString(file, StandardCharsets.UTF_8)).isEqualTo("0123456789abcdef\n");
        assertThat(DirectoryNames.of(dir)).as("no temporary file left").containsExactly(AdminToken.FILE_NAME);
    }

    @Test
    void aStoredTokenIsReadAsItIsAndNotGeneratedAgain() throws Exception {
        AdminToken.Resolved first = AdminToken.resolve(null, dir);
        AdminToken.Resolved second = AdminToken.resolve(null, dir);

        assertThat(second.generated()).isFalse();
        assertThat(second.token()).isEqualTo(first.token());
    }

    /**
     * The temporary files of the token's write that a crash left (before their renames, each with a token in it) are
     * deleted at the next start, whether the token is then the file's or the variable's; the database's files, a
     * backup's and a restore's partial copies, the data directory's write check and the like stay.
     */
    @Test
    void temporaryFilesACrashLeftDuringTheTokensWriteAreDeletedAtTheNextStart() throws Exception {
        List<String> left = List.of(".tmp4711.tmp", ".tmp18446744073709551615.tmp");
        List<String> kept = List.of("picotunnel.db", "picotunnel.db-wal", "picotunnel.db-shm", "picotunnel.db-journal",
                ".backup.db.partial", ".backup.db.partial-journal", ".picotunnel.db.restoring", ".write-check1.tmp",
                "admin-token.tmp", ".tmp-notes", "notes.tmp",
                // an operator's copies: not names a write gives (.tmp, a 64-bit number as Java writes it, .tmp)
                ".tmp.admin-token.tmp", ".tmp-backup.tmp", ".tmp.tmp", ".tmp0815.tmp", ".tmp+1.tmp",
                ".tmp18446744073709551616.tmp", ".tmp-1.tmp");
        for (String name : left) {
            Files.writeString(dir.resolve(name), "a-token-of-a-write-cut-short-0123456789\n");
        }
        for (String name : kept) {
            Files.writeString(dir.resolve(name), "kept");
        }
        Files.createDirectory(dir.resolve(".tmp1.tmp.d.tmp"));

        AdminToken.Resolved generated = AdminToken.resolve(null, dir);
        assertThat(generated.generated()).isTrue();
        for (String name : left) {
            assertThat(dir.resolve(name)).as(name).doesNotExist();
        }
        for (String name : kept) {
            assertThat(dir.resolve(name)).as(name).hasContent("kept");
        }
        assertThat(dir.resolve(".tmp1.tmp.d.tmp")).isDirectory();

        Files.writeString(dir.resolve(".tmp99.tmp"), "another-token-of-a-write-cut-short\n");
        AdminToken.resolve("a-configured-token-0123456789", dir);
        assertThat(dir.resolve(".tmp99.tmp")).doesNotExist();
        assertThat(Files.readString(dir.resolve(AdminToken.FILE_NAME))).isEqualTo(generated.token() + "\n");
    }

    /**
     * A temporary file the start cannot delete (immutable here: chattr +i, which even root cannot unlink) is one WARN
     * naming it and the cause, the others are deleted still, and the start goes on: it stopped with "Cannot read or
     * create the admin token", which the operator's PICOTUNNEL_ADMIN_TOKEN did not help.
     */
    @Test
    void aTemporaryFileThatCannotBeDeletedIsAWarningNamingItAndTheStartGoesOn() throws Exception {
        Path stuck = Files.writeString(dir.resolve(".tmp4711.tmp"), "a-token-of-a-write-cut-short-0123456789\n");
        AdminToken.Resolved configured;
        AdminToken.Resolved generated;
        List<String> warnings;
        List<Path> others = new ArrayList<>();
        try (ImmutableFile immutable = ImmutableFile.make(stuck);
             LogCapture log = new LogCapture(AdminToken.class, Level.INFO)) {
            for (String name : List.of(".tmp0.tmp", ".tmp815.tmp", ".tmp18446744073709551615.tmp")) {
                others.add(Files.writeString(dir.resolve(name), "another-token-of-a-write-cut-short-0123456789\n"));
            }
            configured = AdminToken.resolve("a-configured-token-0123456789", dir);
            assertThat(others).as("deleted though one could not be").allSatisfy(other -> assertThat(other)
                    .doesNotExist());
            generated = AdminToken.resolve(null, dir);
            warnings = log.messages(Level.WARN);
            assertThat(immutable.path()).exists();
        }

        assertThat(configured.token()).isEqualTo("a-configured-token-0123456789");
        assertThat(generated.generated()).isTrue();
        assertThat(Files.readString(dir.resolve(AdminToken.FILE_NAME))).isEqualTo(generated.token() + "\n");
        assertThat(warnings).hasSize(2).allSatisfy(warning -> assertThat(warning).isEqualTo("Cannot delete the"
                + " temporary files left in " + dir + " by writes of the admin token a crash cut short (" + stuck
                + ": Operation not permitted); each may hold a token: delete them (" + dir.resolve(".tmp<digits>.tmp")
                + ") by hand, the next start tries again"));
        AdminToken.resolve(null, dir);
        assertThat(stuck).as("deleted by the next start that can").doesNotExist();
    }

    /** A FIFO in the token file's place is refused at once with a sentence, where its open waited for good. */
    @Test
    void aFifoInTheTokenFilesPlaceIsRefusedAtOnce() throws Exception {
        try (Fifo fifo = Fifo.make(dir.resolve(AdminToken.FILE_NAME))) {
            assertTimeoutPreemptively(Duration.ofSeconds(30), () -> assertThatThrownBy(
                    () -> AdminToken.resolve(null, dir)).isExactlyInstanceOf(IOException.class)
                    .hasMessage("the admin token file " + fifo.path() + " is not a regular file (a FIFO, a device or a"
                            + " directory); put the token in a regular file, or delete it to have a new token"
                            + " generated"));
        }
    }

    /**
     * A FIFO put in the token file's place after the look at it found a regular file, before its read: the read is
     * given up after {@link BoundedFileReads#TIMEOUT} with an error naming the file, where its open waited for a writer
     * for good, and the start with it.
     */
    @Test
    void aFifoPutInTheTokenFilesPlaceAfterItsLookIsGivenUpAtTheReadsTimeout() throws Exception {
        Path file = Files.writeString(dir.resolve(AdminToken.FILE_NAME), "0123456789abcdef0123\n");
        AtomicReference<Fifo> swapped = new AtomicReference<>();
        Runnable swapInAFifo = () -> {
            try {
                swapped.set(Fifo.replacing(file));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        };
        try {
            assertTimeoutPreemptively(Duration.ofSeconds(30), () -> assertThatThrownBy(
                    () -> AdminToken.resolve(null, dir, swapInAFifo))
                    .isExactlyInstanceOf(BoundedFileReads.NotReadInTimeException.class)
                    .hasMessage(file + ": not read within " + Durations.format(BoundedFileReads.TIMEOUT) + ": not a"
                            + " regular file (a FIFO put in its place as it was read, say), or on a file system slow to"
                            + " answer"));
        } finally {
            if (swapped.get() != null) {
                swapped.get().close(); // lets go of a read left at its open, should the test have failed
            }
        }
    }

    @Test
    void aTokenFileLargerThanAnyTokenIsRefused() throws Exception {
        Path file = Files.writeString(dir.resolve(AdminToken.FILE_NAME), "x".repeat(AdminToken.MAX_FILE_SIZE + 1));

        assertThatThrownBy(() -> AdminToken.resolve(null, dir)).isExactlyInstanceOf(IOException.class)
                .hasMessage("the admin token file " + file + " holds more than 4096 bytes, not a token; put the token"
                        + " alone in it, or delete it to have a new token generated");
        String token = "x".repeat(AdminToken.MIN_TOKEN_LENGTH);
        Files.writeString(file, " ".repeat(AdminToken.MAX_FILE_SIZE - token.length()) + token);
        assertThat(AdminToken.resolve(null, dir).token()).isEqualTo(token);
    }

    /** The file's token is held to the variable's longest, 1024 characters: it was let through up to 4096. */
    @Test
    void aTokenInTheFileLongerThanTheVariableAllowsIsRefused() throws Exception {
        refusedThenTaken(ServerConfig.MAX_ADMIN_TOKEN_LENGTH + 1, "holds a token of 1025 characters, longer than the 1024"
                + " an admin token may have; put a shorter token in it", ServerConfig.MAX_ADMIN_TOKEN_LENGTH);
    }

    /** The file's token is held to the variable's shortest, 16 characters: a shorter one was taken as it was. */
    @Test
    void aTokenInTheFileShorterThanTheVariableAllowsIsRefused() throws Exception {
        refusedThenTaken(ServerConfig.MIN_ADMIN_TOKEN_LENGTH - 1, "holds a token of 15 characters, shorter than the 16"
                + " an admin token must have; put a longer token in it", ServerConfig.MIN_ADMIN_TOKEN_LENGTH);
    }

    /**
     * A file whose token has {@code refusedLength} characters stops the start with {@code refusal} (after the file's
     * name, before "or delete it"); one of {@code takenLength} characters is taken.
     */
    private void refusedThenTaken(int refusedLength, String refusal, int takenLength) throws Exception {
        Path file = Files.writeString(dir.resolve(AdminToken.FILE_NAME), "x".repeat(refusedLength) + "\n");

        assertThatThrownBy(() -> AdminToken.resolve(null, dir)).isExactlyInstanceOf(IOException.class)
                .hasMessage("the admin token file " + file + " " + refusal + ", or delete it to have a new token"
                        + " generated");
        Files.writeString(file, "x".repeat(takenLength) + "\n");
        assertThat(AdminToken.resolve(null, dir).token()).hasSize(takenLength);
    }

    /**
     * The file's token is held to the variable's characters, printable ASCII without spaces: one with a space, a
     * control character or a letter outside ASCII in it was taken as it was. The error does not repeat the token.
     */
    @Test
    void aTokenInTheFileWithACharacterNotPrintableAsciiIsRefused() throws Exception {
        Path file = dir.resolve(AdminToken.FILE_NAME);
        for (String token : List.of("0123456789 abcdef", "0123456789\tabcdef", "0123456789\u0001abcdef",
                "0123456789\u00e9abcdef")) {
            Files.writeString(file, token + "\n");

            assertThatThrownBy(() -> AdminToken.resolve(null, dir)).as(token).isExactlyInstanceOf(IOException.class)
                    .hasMessage("the admin token file " + file + " holds a token with a character that is not"
                            + " printable ASCII or is a space (an admin token is printable ASCII without spaces); put"
                            + " such a token in it, or delete it to have a new token generated");
        }
    }

    /**
     * The file's token is held to the variable's one check ({@link AdminToken#refusal}), the Kubernetes example's
     * placeholder included: the variable refused "change-me-to-a-long-random-token", which the file took as it was (a
     * Secret mounted as the file, say), opening the API to a token printed in the repository.
     */
    @Test
    void theExamplesPlaceholderInTheFileIsRefusedAsInTheVariable() throws Exception {
        Path file = dir.resolve(AdminToken.FILE_NAME);
        for (String placeholder : List.of("change-me-to-a-long-random-token", "CHANGE-ME-please-0123456789")) {
            Files.writeString(file, placeholder + "\n");

            assertThatThrownBy(() -> AdminToken.resolve(null, dir)).as(placeholder).isExactlyInstanceOf(IOException.class)
                    .hasMessage("the admin token file " + file + " holds the placeholder of an example"
                            + " (examples/kubernetes/secret.yaml), known to everyone; put a random token in it (e.g."
                            + " openssl rand -hex 32), or delete it to have a new token generated");
            assertThat(AdminToken.refusal(placeholder)).isEqualTo(AdminToken.Refusal.PLACEHOLDER);
        }
        Files.writeString(file, "not-change-me-0123456789\n");
        assertThat(AdminToken.resolve(null, dir).token()).isEqualTo("not-change-me-0123456789");
    }

    /** docs/api.md: the file's token keeps its quotes, where the variable's value has one pair taken off. */
    @Test
    void aTokenInQuotesInTheFileIsTakenWithItsQuotes() throws Exception {
        Files.writeString(dir.resolve(AdminToken.FILE_NAME), "\"0123456789abcdef\"\n");

        assertThat(AdminToken.resolve(null, dir).token()).isEqualTo("\"0123456789abcdef\"");
    }
}
