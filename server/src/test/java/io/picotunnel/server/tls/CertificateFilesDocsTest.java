package io.picotunnel.server.tls;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static io.picotunnel.testkit.ProseDurations.words;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/tls.md gives how often the certificate directory is looked at as {@link ServerTls#WATCH_INTERVAL}, so a new
 * interval cannot leave the doc saying the old one.
 */
class CertificateFilesDocsTest {

    @Test
    void theDirectoryIsCheckedAtTheWatchInterval() throws IOException {
        String doc = Files.readString(Path.of("").toAbsolutePath().getParent().resolve("docs/tls.md"))
                .replaceAll("\\s+", " ");
        String interval = words(ServerTls.WATCH_INTERVAL);

        assertThat(doc).contains("The directory is checked every " + interval + ": a new, replaced or removed pair")
                .contains("it win again at the next check (every " + interval + ").");
    }
}
