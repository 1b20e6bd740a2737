package io.picotunnel.server.access;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/access-control.md gives the Retry-After of the sign-in's page while the server stops as
 * {@link ServiceSignIn#STOPPING_RETRY_AFTER}, so a new value cannot leave the doc saying the old one.
 */
class ServiceSignInDocsTest {

    @Test
    void aSignInWhileTheServerStopsAnswersTheRetryAfterTheDocGives() throws IOException {
        String doc = Files.readString(Path.of("").toAbsolutePath().getParent().resolve("docs/access-control.md"))
                .replaceAll("\\s+", " ");

        assertThat(doc).contains("both get a 503 page (`Retry-After: " + ServiceSignIn.STOPPING_RETRY_AFTER
                + "`) that says to open the page again");
    }
}
