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
