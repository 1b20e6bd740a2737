package io.picotunnel.server.access;

import io.picotunnel.server.auth.PendingLogins;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static io.picotunnel.testkit.ProseDurations.words;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/access-control.md gives the Retry-After of the sign-in's page while the server stops as
 * {@link ServiceSignIn#STOPPING_RETRY_AFTER}, and the time a sign-in has to finish as {@link PendingLogins#TTL}, so new
 * values cannot leave the doc saying the old ones.
 */
class ServiceSignInDocsTest {

    private static String doc() throws IOException {
        return Files.readString(Path.of("").toAbsolutePath().getParent().resolve("docs/access-control.md"))
                .replaceAll("\\s+", " ");
    }

    @Test
    void aSignInWhileTheServerStopsAnswersTheRetryAfterTheDocGives() throws IOException {
        assertThat(doc()).contains("both get a 503 page (`Retry-After: " + ServiceSignIn.STOPPING_RETRY_AFTER
                + "`) that says to open the page again");
    }

    @Test
    void aSignInFinishesWithinThePendingLoginsTtl() throws IOException {
        assertThat(doc()).contains("checked at its callback) and within " + words(PendingLogins.TTL) + ".");
    }
}
