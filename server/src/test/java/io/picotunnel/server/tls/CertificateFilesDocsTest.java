package io.picotunnel.server.tls;

import io.picotunnel.server.files.BoundedFileReads;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static io.picotunnel.testkit.ProseDurations.words;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/tls.md gives how often the certificate directory is looked at as {@link ServerTls#WATCH_INTERVAL}, how many
 * pairs one look reads as {@link CertificateDirectory#MAX_PAIRS}, and when a read of a file is given up as
 * {@link BoundedFileReads#TIMEOUT}, so a new value cannot leave the doc saying the old one.
 */
class CertificateFilesDocsTest {

    @Test
    void theDirectoryIsCheckedAtTheWatchInterval() throws IOException {
        String doc = doc();
        String interval = words(ServerTls.WATCH_INTERVAL);

        assertThat(doc).contains("The directory is checked every " + interval + ": a new, replaced or removed pair")
                .contains("it win again at the next check (every " + interval + ").");
    }

    @Test
    void theCapOfPairsReadIsTheDirectorysOwn() throws IOException {
        String doc = doc();
        String cap = String.format(java.util.Locale.ROOT, "%,d", CertificateDirectory.MAX_PAIRS);

        assertThat(doc).contains("Of a directory with more than " + cap + " pairs")
                .contains("the first " + cap + " listed are read");
    }

    @Test
    void aReadThatWaitsIsGivenUpAfterTheTimeoutOfBoundedReads() throws IOException {
        assertThat(doc()).contains("whose read would wait for good, is given up after " + words(BoundedFileReads.TIMEOUT)
                + " with a WARN naming the file");
    }

    /** docs/tls.md with every run of white space as one space. */
    private static String doc() throws IOException {
        return Files.readString(Path.of("").toAbsolutePath().getParent().resolve("docs/tls.md"))
                .replaceAll("\\s+", " ");
    }
}
