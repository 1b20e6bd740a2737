package io.picotunnel.server.acme;

import io.picotunnel.server.tls.BrokenKeys;
import io.picotunnel.server.tls.TestCertificates;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
        try (var left = Files.list(acme)) {
            assertThat(left).as("no temporary file left").containsExactly(files.failureFile("app.test"));
        }
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
        try (var left = Files.list(acme)) {
            assertThat(left.map(file -> file.getFileName().toString()))
                    .as("in place, with no temporary or .next file left")
                    .containsExactlyInAnyOrder("app.test.crt", "app.test.key", "app.test.directory");
        }
    }

    private interface Write {
        void run() throws IOException;
    }

    /** Runs {@code write} with this thread's interrupt flag set; says whether it is still set after, and clears it. */
    private static boolean whileInterrupted(Write write) throws IOException {
        Thread.currentThread().interrupt();
        try {
            write.run();
            return Thread.currentThread().isInterrupted();
        } finally {
            Thread.interrupted();
        }
    }

    @Test
    void failureFileLargerThan64KiBIsRefused() throws IOException {
        AcmeFiles files = new AcmeFiles(acme, DIRECTORY);
        Files.writeString(files.failureFile("app.test"), "#" + "x".repeat(70_000) + "\ndirectory=" + DIRECTORY
                + "\nfailures=1\nnext_attempt=2026-12-02T14:00:00Z\n");

        assertThatThrownBy(() -> files.loadFailure("app.test")).isInstanceOf(IOException.class)
                .hasMessageEndingWith("app.test.failure: larger than 65536 bytes");
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
}
