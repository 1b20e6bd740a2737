package io.picotunnel.server.acme;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The {@code <domain>.failure} files as ACME writes and reads them back. */
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
}
