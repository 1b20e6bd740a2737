package io.picotunnel.server.acme;

import io.picotunnel.server.files.BoundedFileReads.NotReadInTimeException;
import io.picotunnel.server.files.BoundedFileReads.TooLargeException;
import io.picotunnel.server.files.CrashStates;
import io.picotunnel.server.files.Fifo;
import io.picotunnel.server.files.TestFileWrites;
import io.picotunnel.server.tls.BrokenKeys;
import io.picotunnel.server.tls.ServerCertificate;
import io.picotunnel.server.tls.TestCertificates;
import io.picotunnel.testkit.DirectoryNames;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPrivateKey;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/** The files of ACME (keys, certificates, {@code <domain>.failure}) as ACME writes and reads them back. */
class AcmeFilesTest {

    private static final String DIRECTORY = "https://ca.test/dir";

    @TempDir
    Path acme;

    @Test
    void failureWithAVeryLongErrorIsKeptShortEnoughToBeReadBack() throws IOException {
        AcmeFiles files = new AcmeFiles(acme, DIRECTORY);
        Instant next = Instant.parse("2026-12-02T14:00:00Z");

        files.storeFailure("app.test", new OrderFailure(2, next, "x".repeat(100_000)));

        OrderFailure read = files.loadFailure("app.test").orElseThrow();
        assertThat(read.failures()).isEqualTo(2);
        assertThat(read.nextAttempt()).isEqualTo(next);
        assertThat(read.lastError()).hasSize(4096 + 3).endsWith("x...");
    }

    @Test
    void failureIsWrittenWholeOnAThreadInterruptedByTheServersShutdown() throws IOException {
        AcmeFiles files = new AcmeFiles(acme, DIRECTORY);
        Instant next = Instant.parse("2026-12-02T14:00:00Z");

        // what AcmeManager.close() does to the ACME thread while it notes a failed order
        boolean stillInterrupted = whileInterrupted(
                () -> files.storeFailure("app.test", new OrderFailure(3, next, "refused")));

        assertThat(stillInterrupted).as("the interrupt is kept for the thread to end on").isTrue();
        OrderFailure read = files.loadFailure("app.test").orElseThrow();
        assertThat(read.failures()).isEqualTo(3);
        assertThat(read.nextAttempt()).isEqualTo(next);
        assertThat(read.lastError()).isEqualTo("refused");
        assertThat(DirectoryNames.of(acme)).as("no temporary file left")
                .containsExactly(files.failureFile("app.test").getFileName().toString());
    }

    @Test
    void certificateIsSavedWholeOnAThreadInterruptedByTheServersShutdown() throws Exception {
        TestCertificates.Issued issued = new TestCertificates().issue("app.test");
        StringBuilder chainPem = new StringBuilder();
        for (var certificate : issued.chain()) {
            chainPem.append(TestCertificates.pem(certificate));
        }
        AcmeFiles files = new AcmeFiles(acme, DIRECTORY);

        boolean stillInterrupted = whileInterrupted(() -> files.store("app.test", issued.keyPair(), chainPem.toString()));

        assertThat(stillInterrupted).as("the interrupt is kept for the thread to end on").isTrue();
        assertThat(files.load("app.test").orElseThrow().chain()).isEqualTo(issued.chain());
        assertThat(DirectoryNames.of(acme)).as("in place, with no temporary or .next file left")
                .containsExactlyInAnyOrder("app.test.crt", "app.test.key", "app.test.directory");
    }

    /**
     * The directory is synced between the renames that must keep their order on the disk, which a POSIX file system
     * keeps in no order between syncs: the chain is written beside once the key and the note are, the key moved into
     * place once the chain is beside, the chain once the key and the note are in place; then once all are.
     */
    @Test
    void aCertificatesRenamesAreSyncedBetweenThoseThatMustKeepTheirOrder() throws Exception {
        TestCertificates.Issued issued = new TestCertificates().issue("app.test");
        CrashStates recorded = new CrashStates();
        AcmeFiles files = new AcmeFiles(acme, DIRECTORY, recorded.writes());

        files.store("app.test", issued.keyPair(), chainPem(issued));

        assertThat(recorded.steps()).containsExactly(
                "a temporary file -> app.test.key.next", "a temporary file -> app.test.directory.next", "sync",
                "a temporary file -> app.test.crt.next", "sync",
                "app.test.key.next -> app.test.key", "app.test.directory.next -> app.test.directory", "sync",
                "app.test.crt.next -> app.test.crt", "sync");
        assertThat(files.load("app.test").orElseThrow().chain()).isEqualTo(issued.chain());
    }

    /**
     * A crash of the machine at any step of a renewal's save, or of the load that completes it after, on a file system
     * that keeps any of the renames since the directory's last sync and loses the others: the next load finds the old
     * certificate or the new one, each with its own key, never a chain beside another's key.
     */
    @Test
    void aCrashAtAnyStepOfASaveOrOfItsCompletionLeavesAChainWithItsOwnKey() throws Exception {
        TestCertificates.Issued old = new TestCertificates().issue("app.test");
        TestCertificates.Issued renewed = new TestCertificates().issue("app.test");
        Set<List<X509Certificate>> loaded = new HashSet<>();
        int crashes = 0;

        for (var crash : statesAfterACrashOfARenewal(old, renewed).entrySet()) {
            CrashStates completion = new CrashStates();
            Path crashed = CrashStates.write(crash.getKey(), acme.resolve("crash-" + crashes++));
            loaded.add(loadWithItsOwnKey(new AcmeFiles(crashed, DIRECTORY, completion.writes()),
                    "a crash " + crash.getValue()));
            for (var again : completion.statesAfterACrash(crash.getKey()).entrySet()) {
                Path crashedAgain = CrashStates.write(again.getKey(), acme.resolve("crash-" + crashes++));
                loaded.add(loadWithItsOwnKey(new AcmeFiles(crashedAgain, DIRECTORY),
                        "a crash " + crash.getValue() + ", then in the load " + again.getValue()));
            }
        }

        assertThat(loaded).as("the old or the new, as the crash came").containsExactlyInAnyOrder(old.chain(),
                renewed.chain());
    }

    /**
     * A certificate deleted from any state a crash cut short its save in, then a crash of the machine at any step of
     * the deletion: the next load finds no certificate, or one with its own key, never a chain beside another's key;
     * and what is left is listed by its chain, for the next start to delete, never a key with nothing to list it.
     */
    @Test
    void aCrashAtAnyStepOfADeletionAfterASaveCutShortLeavesNoChainBesideAnothersKey() throws Exception {
        TestCertificates.Issued old = new TestCertificates().issue("app.test");
        TestCertificates.Issued renewed = new TestCertificates().issue("app.test");
        int crashes = 0;

        for (var cutShort : statesAfterACrashOfARenewal(old, renewed).entrySet()) {
            CrashStates deletion = new CrashStates();
            Path deleted = CrashStates.write(cutShort.getKey(), acme.resolve("deleted-" + crashes++));
            new AcmeFiles(deleted, DIRECTORY, deletion.writes()).deleteCertificate("app.test");
            assertThat(DirectoryNames.of(deleted)).as("all deleted after a save cut short %s", cutShort.getValue())
                    .isEmpty();
            for (var crash : deletion.statesAfterACrash(cutShort.getKey()).entrySet()) {
                Path crashed = CrashStates.write(crash.getKey(), acme.resolve("crash-" + crashes++));
                AcmeFiles files = new AcmeFiles(crashed, DIRECTORY);
                String when = "a crash of a save " + cutShort.getValue() + ", then of its deletion " + crash.getValue();
                if (!DirectoryNames.of(crashed).isEmpty()) {
                    assertThat(files.certificateDomains()).as("what is left listed, %s", when)
                            .containsExactly("app.test");
                }
                loadIfAnyWithItsOwnKey(files, when);
            }
        }
    }

    /**
     * A file of a certificate that cannot be deleted (here its note) ends its deletion with the chain in place, by
     * which the certificate is listed, and the error names both; the others are deleted, and a later deletion, the
     * obstacle gone, deletes the rest. The chain went first, and a key beside, after the note, stayed with nothing to
     * list it.
     */
    @Test
    void aFileOfACertificateThatCannotBeDeletedLeavesItListedForALaterDeletionThatTakesTheRest() throws Exception {
        TestCertificates.Issued issued = new TestCertificates().issue("app.test");
        AcmeFiles files = new AcmeFiles(acme, DIRECTORY);
        files.store("app.test", issued.keyPair(), chainPem(issued));
        Path note = files.issuerFile("app.test");
        Files.delete(note);
        Files.createDirectories(note.resolve("not-empty"));
        Files.writeString(acme.resolve("app.test.key.next"), "a key a save cut short wrote beside");

        Throwable failed = catchThrowable(() -> files.deleteCertificate("app.test"));

        assertThat(DirectoryNames.of(acme)).containsExactlyInAnyOrder("app.test.crt", "app.test.directory");
        assertThat(files.certificateDomains()).containsExactly("app.test");
        assertThat(failed).isInstanceOf(IOException.class)
                .hasMessage(note + " is a directory, and not empty; left too: " + files.certificateFile("app.test"));
        Files.delete(note.resolve("not-empty"));
        files.deleteCertificate("app.test");
        assertThat(DirectoryNames.of(acme)).as("nothing of the certificate left").isEmpty();
    }

    /**
     * A first save (no certificate in place) cut short by a crash at any step: what it left with no chain in place
     * (the key moved into place beside the chain beside, say), which {@link AcmeFiles#certificateDomains} does not
     * list, is listed by its stem, for the clean-up at start of a domain no service needs, and deleted whole; a crash
     * at any step of that deletion leaves what is left listed still, never a key with nothing to list it.
     */
    @Test
    void whatAFirstSaveCutShortLeavesWithNoChainIsListedByItsStemAndDeletedWhole() throws Exception {
        TestCertificates.Issued issued = new TestCertificates().issue("app.test");
        CrashStates save = new CrashStates();
        new AcmeFiles(acme.resolve("saved"), DIRECTORY, save.writes()).store("app.test", issued.keyPair(),
                chainPem(issued));
        Set<Set<String>> leftWithNoChain = new HashSet<>();
        int crashes = 0;

        for (var cutShort : save.statesAfterACrash(Map.of()).entrySet()) {
            Path left = CrashStates.write(cutShort.getKey(), acme.resolve("left-" + crashes++));
            AcmeFiles files = new AcmeFiles(left, DIRECTORY);
            if (cutShort.getKey().isEmpty() || cutShort.getKey().containsKey("app.test.crt")) {
                assertThat(files.certificateStemsWithoutChain()).as("a crash %s", cutShort.getValue()).isEmpty();
                continue;
            }
            leftWithNoChain.add(cutShort.getKey().keySet());
            assertThat(files.certificateStemsWithoutChain()).as("a crash %s", cutShort.getValue())
                    .containsExactly("app.test");
            CrashStates deletion = new CrashStates();
            new AcmeFiles(left, DIRECTORY, deletion.writes()).deleteCertificateOfStem("app.test");
            assertThat(DirectoryNames.of(left)).as("all deleted after a crash %s", cutShort.getValue()).isEmpty();
            for (var crash : deletion.statesAfterACrash(cutShort.getKey()).entrySet()) {
                Path crashed = CrashStates.write(crash.getKey(), acme.resolve("crash-" + crashes++));
                if (!DirectoryNames.of(crashed).isEmpty()) {
                    assertThat(new AcmeFiles(crashed, DIRECTORY).certificateStemsWithoutChain())
                            .as("what is left listed, a crash of a save %s, then of its deletion %s",
                                    cutShort.getValue(), crash.getValue())
                            .containsExactly("app.test");
                }
            }
        }
        assertThat(leftWithNoChain).as("among them, the key in place with nothing but the chain beside to list it")
                .contains(Set.of("app.test.key", "app.test.directory", "app.test.crt.next"));
    }

    /**
     * Each file a save cut short can leave with no chain in place is listed by its stem, alone too; no file of another
     * suffix, nor of a stem {@link AcmeFiles#stem} does not make, nor of a certificate whose chain lists it.
     */
    @Test
    void filesOfASaveCutShortWithNoChainAreListedByTheirStemsAndNoOthers() throws Exception {
        String longDomain = ("a".repeat(60) + ".").repeat(4) + "test";
        List<String> ours = List.of("key.test.key.next", "chain.test.crt.next", "note.test.directory.next",
                "moved.test.directory", "_.wild.test.key.next", AcmeFiles.stem(longDomain) + ".key.next");
        List<String> others = List.of("whole.test.crt", "whole.test.key.next", "alone.test.key",
                "other.test.crt.bak", "other.test.key.next.bak", "other.test.next", ".key.next", "Upper.test.key.next",
                "dot.test..key.next", "b\u00fccher.test.key.next", "a~b.key.next", "*.wild.test.key.next",
                "a".repeat(175) + "~" + "0".repeat(63) + ".key.next");
        for (String name : ours) {
            Files.writeString(acme.resolve(name), name);
        }
        for (String name : others) {
            Files.writeString(acme.resolve(name), name);
        }

        assertThat(new AcmeFiles(acme, DIRECTORY).certificateStemsWithoutChain()).containsExactly("_.wild.test",
                AcmeFiles.stem(longDomain), "chain.test", "key.test", "moved.test", "note.test");
        assertThat(AcmeFiles.stem(longDomain)).as("shortened").contains("~");
    }

    /**
     * A load that undoes a save cut short before its chain was beside tries both files beside, the note too when the
     * key cannot be deleted, and names each that stays.
     */
    @Test
    void aLoadUndoingASaveCutShortTriesBothFilesBesideAndNamesEachThatStays() throws Exception {
        AcmeFiles files = new AcmeFiles(acme, DIRECTORY);
        Path keyBeside = Files.createDirectories(acme.resolve("app.test.key.next").resolve("not-empty")).getParent();
        Path noteBeside = Files.writeString(acme.resolve("app.test.directory.next"), DIRECTORY + "\n");

        Throwable failed = catchThrowable(() -> files.load("app.test"));

        assertThat(noteBeside).as("tried still").doesNotExist();
        assertThat(failed).isInstanceOf(IOException.class).hasMessage(keyBeside + " is a directory, and not empty");
        Files.createDirectories(noteBeside.resolve("not-empty"));
        assertThat(catchThrowable(() -> files.load("app.test"))).isInstanceOf(IOException.class).hasMessage(keyBeside
                + " is a directory, and not empty; " + noteBeside + " is a directory, and not empty");
    }

    /**
     * A file that cannot be deleted first in its step (here the note beside) leaves the others of the step deleted
     * still (the key beside and the note in place), and the chain in place, listed; the domain wanted again, the load
     * finds no certificate in that chain without its key, and the certificate saved for it is the one loaded, with its
     * own key.
     */
    @Test
    void aDeletionCutShortInItsStepDeletesTheStepsOtherFilesAndTheDomainWantedAgainGetsItsNewCertificate()
            throws Exception {
        TestCertificates.Issued expired = new TestCertificates().issue("app.test");
        TestCertificates.Issued wantedAgain = new TestCertificates().issue("app.test");
        AcmeFiles files = new AcmeFiles(acme, DIRECTORY);
        files.store("app.test", expired.keyPair(), chainPem(expired));
        Path noteBeside = acme.resolve("app.test.directory.next");
        Files.createDirectories(noteBeside.resolve("not-empty"));
        Files.writeString(acme.resolve("app.test.key.next"), "a key a save cut short wrote beside");

        assertThatThrownBy(() -> files.deleteCertificate("app.test")).isInstanceOf(IOException.class)
                .hasMessage(noteBeside + " is a directory, and not empty; left too: "
                        + files.certificateFile("app.test"));

        assertThat(DirectoryNames.of(acme)).containsExactlyInAnyOrder("app.test.crt", "app.test.directory.next");
        assertThat(files.certificateDomains()).containsExactly("app.test");
        Files.delete(noteBeside.resolve("not-empty"));
        assertThat(files.load("app.test")).as("the chain left without its key").isEmpty();
        files.store("app.test", wantedAgain.keyPair(), chainPem(wantedAgain));
        assertThat(loadIfAnyWithItsOwnKey(files, "saved after a deletion cut short")).contains(wantedAgain.chain());
    }

    /**
     * A save that failed (a full disk) between the key's move and the chain's leaves the new key in place and its chain
     * beside; the next save moves that chain into place before it writes its own key beside, which a load completing
     * it after a failure of its own would otherwise pair with that chain.
     */
    @Test
    void aChainLeftBesideByAFailedSaveIsNotPairedWithTheNextSavesKey() throws Exception {
        TestCertificates.Issued old = new TestCertificates().issue("app.test");
        TestCertificates.Issued failed = new TestCertificates().issue("app.test");
        TestCertificates.Issued next = new TestCertificates().issue("app.test");
        storedThenChainMoveFailed(old, failed);
        AcmeFiles noteFails = new AcmeFiles(acme, DIRECTORY, TestFileWrites.failingMovesTo(".directory.next"));

        assertThatThrownBy(() -> noteFails.store("app.test", next.keyPair(), chainPem(next)))
                .isInstanceOf(IOException.class);

        assertThat(loadWithItsOwnKey(new AcmeFiles(acme, DIRECTORY), "after two saves failed"))
                .isEqualTo(failed.chain());
    }

    /**
     * A save whose process was killed after its key's and note's moves and before the directory's sync leaves those
     * moves seen, not yet on the disk; the load that completes it syncs the directory before it moves the chain, where
     * it moved the chain at once (nothing of the key's left to move), so that a crash of the machine could keep the
     * chain's move and lose the key's.
     */
    @Test
    void theCompletionOfASaveWhoseKeyWasMovedAlreadySyncsBeforeItMovesTheChain() throws Exception {
        TestCertificates.Issued old = new TestCertificates().issue("app.test");
        TestCertificates.Issued renewed = new TestCertificates().issue("app.test");
        storedThenChainMoveFailed(old, renewed);
        CrashStates recorded = new CrashStates();

        assertThat(new AcmeFiles(acme, DIRECTORY, recorded.writes()).load("app.test").orElseThrow().chain())
                .isEqualTo(renewed.chain());

        assertThat(recorded.steps()).startsWith("sync", "app.test.crt.next -> app.test.crt", "sync");
    }

    /**
     * An order's note, deleted once its certificate is saved, and a failure note, deleted once an order succeeds, stay
     * deleted after a crash of the machine once the save or the deletion is done: the directory is synced after each,
     * where a crash could bring the order back (its certificate downloaded again) or the failures (an attempt put off).
     */
    @Test
    void anOrderDeletedWithItsCertificatesSaveAndAFailureNoteDeletedStayDeletedAfterACrash() throws Exception {
        TestCertificates.Issued issued = new TestCertificates().issue("app.test");
        AcmeFiles files = new AcmeFiles(acme, DIRECTORY);
        files.storeOrder("app.test", new PendingOrder(URI.create("https://ca.test/order/1").toURL(), issued.keyPair()));
        files.storeFailure("app.test", new OrderFailure(2, Instant.parse("2026-12-02T14:00:00Z"), "refused"));
        Map<String, String> beforeTheSave = CrashStates.filesOf(acme);
        CrashStates save = new CrashStates();
        new AcmeFiles(acme, DIRECTORY, save.writes()).store("app.test", issued.keyPair(), chainPem(issued));
        Map<String, String> beforeTheDeletion = CrashStates.filesOf(acme);
        CrashStates deletion = new CrashStates();
        new AcmeFiles(acme, DIRECTORY, deletion.writes()).deleteFailure("app.test");

        save.statesAfterACrashOnceDone(beforeTheSave).forEach((state, when) -> assertThat(state.keySet())
                .as("a crash once saved, " + when).contains("app.test.crt").doesNotContain("app.test.order"));
        deletion.statesAfterACrashOnceDone(beforeTheDeletion).forEach((state, when) -> assertThat(state.keySet())
                .as("a crash once the failure is deleted, " + when).doesNotContain("app.test.failure"));
    }

    /**
     * {@code old} stored, then a save of {@code failed} whose chain's move fails (a full disk): the key and the note
     * of {@code failed} in place, its chain beside.
     */
    private void storedThenChainMoveFailed(TestCertificates.Issued old, TestCertificates.Issued failed)
            throws IOException {
        new AcmeFiles(acme, DIRECTORY).store("app.test", old.keyPair(), chainPem(old));
        AcmeFiles chainMoveFails = new AcmeFiles(acme, DIRECTORY, TestFileWrites.failingMovesTo(".crt"));
        assertThatThrownBy(() -> chainMoveFails.store("app.test", failed.keyPair(), chainPem(failed)))
                .isInstanceOf(IOException.class);
    }

    /** What a crash can leave of the save of {@code renewed} over {@code old} ({@link CrashStates#statesAfterACrash}). */
    private Map<Map<String, String>, String> statesAfterACrashOfARenewal(TestCertificates.Issued old,
            TestCertificates.Issued renewed) throws IOException {
        Path stored = acme.resolve("stored");
        new AcmeFiles(stored, DIRECTORY).store("app.test", old.keyPair(), chainPem(old));
        Map<String, String> before = CrashStates.filesOf(stored);
        CrashStates save = new CrashStates();
        new AcmeFiles(stored, DIRECTORY, save.writes()).store("app.test", renewed.keyPair(), chainPem(renewed));
        return save.statesAfterACrash(before);
    }

    /**
     * The certificate {@code files} loads, whose leaf's public key must be that of the key file it was loaded with;
     * {@code when}: what came before, for the failure's message.
     */
    private static List<X509Certificate> loadWithItsOwnKey(AcmeFiles files, String when) throws IOException {
        return loadIfAnyWithItsOwnKey(files, when).orElseThrow(() -> new AssertionError(when + ": no certificate"));
    }

    /** As {@link #loadWithItsOwnKey}, or none when {@code files} has no certificate to load. */
    private static Optional<List<X509Certificate>> loadIfAnyWithItsOwnKey(AcmeFiles files, String when)
            throws IOException {
        Optional<ServerCertificate> loaded;
        try {
            loaded = files.load("app.test");
        } catch (IOException e) {
            throw new AssertionError(when + ": " + e, e);
        }
        if (loaded.isEmpty()) {
            return Optional.empty();
        }
        ServerCertificate certificate = loaded.get();
        KeyPair key = AcmeFiles.readKeyPair(files.keyFile("app.test"));
        assertThat(certificate.leaf().getPublicKey()).as("the leaf's key, %s", when).isEqualTo(key.getPublic());
        assertThat(certificate.key()).as("the key loaded, %s", when).isEqualTo(key.getPrivate());
        return Optional.of(certificate.chain());
    }

    @Test
    void storedFilesAreReadOnAThreadInterruptedByTheServersShutdown() throws Exception {
        TestCertificates.Issued issued = new TestCertificates().issue("app.test");
        StringBuilder chainPem = new StringBuilder();
        for (var certificate : issued.chain()) {
            chainPem.append(TestCertificates.pem(certificate));
        }
        AcmeFiles files = new AcmeFiles(acme, DIRECTORY);
        Instant next = Instant.parse("2026-12-02T14:00:00Z");
        files.store("app.test", issued.keyPair(), chainPem.toString());
        files.storeFailure("app.test", new OrderFailure(3, next, "refused"));
        List<Object> read = new ArrayList<>();

        // what AcmeManager.close() does to the ACME thread while it loads a certificate or a retry delay. The JDK opens
        // the streams of Files.readString and Files.newBufferedReader uninterruptible; a read through FileChannel.open,
        // Files.newByteChannel or Files.lines fails at once (ClosedByInterruptException): ACME would log that it
        // "cannot read" the file, and order again at the next start
        boolean stillInterrupted = whileInterrupted(() -> {
            read.add(files.load("app.test").orElseThrow().chain());
            read.add(files.loadFailure("app.test").orElseThrow().failures());
            read.add(files.certificateNotAfter("app.test"));
            read.add(AcmeFiles.readKeyPair(files.keyFile("app.test")).getPublic());
        });

        assertThat(stillInterrupted).as("the interrupt is kept for the thread to end on").isTrue();
        assertThat(read).containsExactly(issued.chain(), 3, issued.chain().getFirst().getNotAfter().toInstant(),
                issued.keyPair().getPublic());
    }

    private interface FileWork {
        void run() throws IOException;
    }

    /** Runs {@code io} with this thread's interrupt flag set; says whether it is still set after, and clears it. */
    private static boolean whileInterrupted(FileWork io) throws IOException {
        Thread.currentThread().interrupt();
        try {
            io.run();
            return Thread.currentThread().isInterrupted();
        } finally {
            Thread.interrupted();
        }
    }

    @Test
    void orderIsReadBackWithItsKeyOnlyForItsAcmeDirectoryAndDeletedWhenItsCertificateIsSaved() throws Exception {
        TestCertificates.Issued issued = new TestCertificates().issue("app.test");
        AcmeFiles files = new AcmeFiles(acme, DIRECTORY);
        URL location = URI.create("https://ca.test/order/1").toURL();

        files.storeOrder("app.test", new PendingOrder(location, issued.keyPair()));

        assertThat(Files.getPosixFilePermissions(files.orderFile("app.test")))
                .isEqualTo(PosixFilePermissions.fromString("rw-------"));
        PendingOrder read = files.loadOrder("app.test").orElseThrow();
        assertThat(read.location()).isEqualTo(location);
        assertThat(read.key().getPublic()).isEqualTo(issued.keyPair().getPublic());
        assertThat(((ECPrivateKey) read.key().getPrivate()).getS())
                .isEqualTo(((ECPrivateKey) issued.keyPair().getPrivate()).getS());
        assertThat(files.orderDomains()).containsExactly("app.test");
        assertThatThrownBy(() -> new AcmeFiles(acme, "https://other-ca.test/dir").loadOrder("app.test"))
                .isInstanceOf(IOException.class).hasMessageEndingWith("app.test.order: placed through the ACME"
                        + " directory " + DIRECTORY + ", not the configured https://other-ca.test/dir");

        files.store("app.test", issued.keyPair(), chainPem(issued));

        assertThat(files.loadOrder("app.test")).isEmpty();
        assertThat(files.orderFile("app.test")).doesNotExist();
    }

    @Test
    void orderIsDeletedWhenALoadCompletesTheSaveOfItsCertificateCutShort() throws Exception {
        TestCertificates.Issued issued = new TestCertificates().issue("app.test");
        AcmeFiles files = new AcmeFiles(acme, DIRECTORY);
        files.storeOrder("app.test", new PendingOrder(URI.create("https://ca.test/order/1").toURL(), issued.keyPair()));
        // the new certificate written whole beside its place, not moved there yet
        Files.writeString(acme.resolve("app.test.key.next"), TestCertificates.pem(issued.keyPair().getPrivate()));
        Files.writeString(acme.resolve("app.test.crt.next"), chainPem(issued));

        assertThat(files.load("app.test")).isPresent();

        assertThat(files.orderFile("app.test")).as("else its certificate is downloaded again at the next order")
                .doesNotExist();
    }

    /** 253 characters, the longest a domain may be, in labels of 63: its names would pass NAME_MAX's 255 bytes. */
    private static final String LONGEST_DOMAIN = String.join(".", "a".repeat(63), "b".repeat(63), "c".repeat(63),
            "d".repeat(56) + ".test");

    @Test
    void theLongestDomainsCertificateIsStoredLoadedAndListedUnderNamesThatFit() throws Exception {
        assertThat(LONGEST_DOMAIN).hasSize(253);
        for (String domain : List.of(LONGEST_DOMAIN, "*." + LONGEST_DOMAIN.substring(LONGEST_DOMAIN.indexOf('.') + 1))) {
            TestCertificates.Issued issued = new TestCertificates().issue(domain);
            AcmeFiles files = new AcmeFiles(acme, DIRECTORY);

            files.store(domain, issued.keyPair(), chainPem(issued));

            assertThat(files.load(domain)).as(domain).isPresent();
            assertThat(files.certificateDomains()).as(domain).contains(domain);
        }
        assertThat(longestNameInTheDirectory()).isLessThanOrEqualTo(255);
    }

    @Test
    void theLongestDomainsSaveCutShortIsCompletedByALoad() throws Exception {
        TestCertificates.Issued issued = new TestCertificates().issue(LONGEST_DOMAIN);
        AcmeFiles files = new AcmeFiles(acme, DIRECTORY);
        files.storeOrder(LONGEST_DOMAIN, new PendingOrder(URI.create("https://ca.test/order/1").toURL(),
                issued.keyPair()));
        Path key = files.keyFile(LONGEST_DOMAIN);
        Path crt = files.certificateFile(LONGEST_DOMAIN);
        Files.writeString(key.resolveSibling(key.getFileName() + ".next"),
                TestCertificates.pem(issued.keyPair().getPrivate()));
        Files.writeString(crt.resolveSibling(crt.getFileName() + ".next"), chainPem(issued));

        assertThat(files.load(LONGEST_DOMAIN)).isPresent();

        assertThat(files.orderFile(LONGEST_DOMAIN)).doesNotExist();
        assertThat(DirectoryNames.of(acme))
                .containsExactlyInAnyOrder(key.getFileName().toString(), crt.getFileName().toString());
    }

    @Test
    void theLongestDomainsOrderAndFailureAreReadBackAndListed() throws Exception {
        TestCertificates.Issued issued = new TestCertificates().issue("app.test");
        AcmeFiles files = new AcmeFiles(acme, DIRECTORY);
        URL location = URI.create("https://ca.test/order/1").toURL();
        Instant next = Instant.parse("2026-12-02T14:00:00Z");

        files.storeOrder(LONGEST_DOMAIN, new PendingOrder(location, issued.keyPair()));
        files.storeFailure(LONGEST_DOMAIN, new OrderFailure(2, next, "refused"));

        assertThat(files.loadOrder(LONGEST_DOMAIN).orElseThrow().location()).isEqualTo(location);
        assertThat(files.loadFailure(LONGEST_DOMAIN).orElseThrow().nextAttempt()).isEqualTo(next);
        assertThat(files.orderDomains()).containsExactly(LONGEST_DOMAIN);
        assertThat(files.failureDomains()).containsExactly(LONGEST_DOMAIN);
        assertThat(longestNameInTheDirectory()).isLessThanOrEqualTo(255);
    }

    /** Files stored by earlier versions are found where their names fit: those names are as they were. */
    @Test
    void aDomainWhoseNamesFitKeepsItsFileNames() {
        AcmeFiles files = new AcmeFiles(acme, DIRECTORY);
        String longestKept = "a".repeat(63) + "." + "b".repeat(63) + "." + "c".repeat(63) + "." + "d".repeat(43)
                + ".test";

        assertThat(longestKept).hasSize(AcmeFiles.MAX_STEM_LENGTH);
        assertThat(files.issuerFile(longestKept).getFileName()).hasToString(longestKept + ".directory");
        assertThat(files.certificateFile("*.app.test").getFileName()).hasToString("_.app.test.crt");
        assertThat(files.failureFile(longestKept + "e").getFileName().toString())
                .as("as docs/tls.md says").hasSize(AcmeFiles.MAX_STEM_LENGTH + ".failure".length())
                .startsWith(longestKept.substring(0, 175) + "~");
    }

    private int longestNameInTheDirectory() {
        return DirectoryNames.of(acme).stream().mapToInt(String::length).max().orElseThrow();
    }


    private static String chainPem(TestCertificates.Issued issued) throws IOException {
        StringBuilder chainPem = new StringBuilder();
        for (var certificate : issued.chain()) {
            chainPem.append(TestCertificates.pem(certificate));
        }
        return chainPem.toString();
    }

    @Test
    void aCertificateThatCannotBeWrittenFailsWithTheSameMessageEveryTimeNamingItsFileNotTheTemporaryOne()
            throws Exception {
        TestCertificates.Issued issued = new TestCertificates().issue("app.test");
        AcmeFiles files = new AcmeFiles(acme, DIRECTORY);
        // a directory where the key's file is written: the temporary file of a random name cannot be moved there
        Path inTheWay = acme.resolve("app.test.key.next");
        Files.createDirectories(inTheWay.resolve("not-empty"));
        List<String> messages = new ArrayList<>();

        for (int i = 0; i < 2; i++) {
            assertThatThrownBy(() -> files.store("app.test", issued.keyPair(), chainPem(issued)))
                    .isInstanceOf(IOException.class)
                    .satisfies(e -> messages.add(e.getMessage()));
        }

        assertThat(messages.getFirst()).isEqualTo("cannot write " + inTheWay + ": Is a directory");
        assertThat(messages.getLast()).as("the same each time, so that AcmeManager logs it once")
                .isEqualTo(messages.getFirst());
    }

    @Test
    void failureFileLargerThan64KiBIsRefused() throws IOException {
        AcmeFiles files = new AcmeFiles(acme, DIRECTORY);
        Files.writeString(files.failureFile("app.test"), "#" + "x".repeat(70_000) + "\ndirectory=" + DIRECTORY
                + "\nfailures=1\nnext_attempt=2026-12-02T14:00:00Z\n");

        assertThatThrownBy(() -> files.loadFailure("app.test")).isInstanceOf(IOException.class)
                .hasMessageEndingWith("app.test.failure: larger than 65536 bytes");
    }

    /**
     * A stored key, the account key or the note of a certificate's ACME directory larger than this class writes is
     * refused naming it, not read whole into memory: a key is read at most 1 MiB (as PemFiles reads one), the note 64 KiB.
     */
    @Test
    void aStoredKeyOrNoteLargerThanItsLimitIsRefusedNamingIt() throws IOException {
        TestCertificates.Issued issued = new TestCertificates().issue("app.test");
        AcmeFiles files = new AcmeFiles(acme, DIRECTORY);
        String tooLarge = "x".repeat(AcmeFiles.MAX_KEY_FILE_SIZE + 1);
        Path note = acme.resolve("app.test.directory");
        TestCertificates.write(issued, acme, "app.test");
        Files.writeString(note, DIRECTORY + "\n" + "#".repeat(AcmeFiles.MAX_ISSUER_FILE_SIZE));
        assertThatThrownBy(() -> files.load("app.test")).isExactlyInstanceOf(TooLargeException.class)
                .hasMessage(note + ": larger than 65536 bytes");

        Files.delete(note);
        Path key = acme.resolve("app.test.key");
        Path accountKey = acme.resolve("account.key");
        Files.writeString(key, tooLarge);
        Files.writeString(accountKey, tooLarge);
        assertThatThrownBy(() -> AcmeFiles.readKeyPair(key)).isExactlyInstanceOf(TooLargeException.class)
                .hasMessage(key + ": larger than 1048576 bytes");
        assertThatThrownBy(files::accountKey).isExactlyInstanceOf(IOException.class)
                .hasMessageStartingWith("the ACME account key " + accountKey + ": larger than 1048576 bytes; ");
    }

    /**
     * A stored file looked at as a regular file and a FIFO by the time it is read (replaced in between): its read, whose
     * open would wait for a writer for good, is given up after 5 s with an error naming it.
     */
    @Test
    void aStoredFileThatIsAFifoWhenReadIsGivenUpNamingIt() throws Exception {
        try (Fifo fifo = Fifo.make(acme.resolve("app.test.key"))) {
            Path key = fifo.path();
            assertTimeoutPreemptively(Duration.ofSeconds(30), () -> assertThatThrownBy(() -> AcmeFiles.readKeyPair(key))
                    .isExactlyInstanceOf(NotReadInTimeException.class)
                    .hasMessage(key + ": not read within 5 s: not a regular file (a FIFO put in its place as it was"
                            + " read, say), or on a file system slow to answer"));
        }
    }

    /**
     * A FIFO in the ACME directory's place, as one put there between a look at the path and its listing would be: the
     * listing of the leftovers finds no files at once, where a listing of the path itself blocks on it for good.
     */
    @Test
    void aFifoInTheDirectorysPlaceIsListedAsNoFilesAtOnce() throws Exception {
        try (Fifo fifo = Fifo.make(acme.resolve("acme"))) {
            AcmeFiles files = new AcmeFiles(fifo.path(), DIRECTORY);
            assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
                assertThat(files.failureDomains()).isEmpty();
                assertThat(files.certificateDomains()).isEmpty();
                assertThat(files.orderDomains()).isEmpty();
            });
        }
    }

    @Test
    void aStoredCertificateOrAccountKeyThatHoldsNoUsableKeyIsAnIOExceptionNamingIt() throws IOException {
        TestCertificates.Issued issued = new TestCertificates().issue("app.test");
        AcmeFiles files = new AcmeFiles(acme, DIRECTORY);
        Path key = acme.resolve("app.test.key");
        Path accountKey = acme.resolve("account.key");
        for (Map.Entry<String, String> broken : BrokenKeys.of(issued).entrySet()) {
            TestCertificates.write(issued, acme, "app.test");
            Files.writeString(key, broken.getValue());
            Files.writeString(accountKey, broken.getValue());

            assertThatThrownBy(() -> files.load("app.test")).as(broken.getKey())
                    .isExactlyInstanceOf(IOException.class).hasMessageStartingWith(key.toString())
                    .hasMessageNotContaining("Exception");
            assertThatThrownBy(files::accountKey).as(broken.getKey())
                    .isExactlyInstanceOf(IOException.class)
                    .hasMessageStartingWith("the ACME account key " + accountKey)
                    .hasMessageEndingWith("restore it from a backup, or move it away and a new account is made at the"
                            + " next order").hasMessageNotContaining("Exception");
        }
    }

    /**
     * A stored certificate or key, or the account key, nested too deep to parse is the usual IOException naming the
     * file, as the certificate of PICOTUNNEL_TLS_CERT is (CertificateDirectoryTest), with the key in each PEM form read.
     */
    @Test
    void aStoredFileNestedTooDeepIsAnIOExceptionNamingIt() throws IOException {
        TestCertificates.Issued issued = new TestCertificates().issue("app.test");
        AcmeFiles files = new AcmeFiles(acme, DIRECTORY);
        String deep = TestCertificates.nestedSequencesPem(100_000);
        Path crt = acme.resolve("app.test.crt");
        TestCertificates.write(issued, acme, "app.test");
        Files.writeString(crt, deep);
        assertThatThrownBy(() -> files.load("app.test")).isExactlyInstanceOf(IOException.class)
                .hasMessage(crt + ": ASN.1 nested too deep, not a certificate or key PicoTunnel can read");

        Path key = acme.resolve("app.test.key");
        Path accountKey = acme.resolve("account.key");
        for (String type : new String[] {"CERTIFICATE", "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY"}) {
            String deepKey = deep.replace("CERTIFICATE", type);
            TestCertificates.write(issued, acme, "app.test");
            Files.writeString(key, deepKey);
            Files.writeString(accountKey, deepKey);

            assertThatThrownBy(() -> files.load("app.test")).as(type).isExactlyInstanceOf(IOException.class)
                    .hasMessage(key + ": ASN.1 nested too deep, not a certificate or key PicoTunnel can read");
            assertThatThrownBy(files::accountKey).as(type).isExactlyInstanceOf(IOException.class)
                    .hasMessage("the ACME account key " + accountKey + ": ASN.1 nested too deep, not a certificate or"
                            + " key PicoTunnel can read; restore it from a backup, or move it away and a new account is"
                            + " made at the next order");
        }
    }
}
