package io.picotunnel.server.access;

import io.picotunnel.protocol.config.Durations;
import io.picotunnel.server.auth.PendingLogins;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static io.picotunnel.testkit.ProseDurations.words;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/access-control.md gives the Retry-After of the sign-in's page while the server stops as
 * {@link ServiceSignIn#STOPPING_RETRY_AFTER} (and the page itself says it), the time a sign-in has to finish as
 * {@link PendingLogins#TTL}, its one-time code's as {@link ServiceSignIn#HANDOFF_TTL} and how often a refusal is logged
 * as {@link ServiceSignIn#REFUSAL_LOG_INTERVAL}, so new values cannot leave the doc saying the old ones.
 */
class ServiceSignInDocsTest {

    private static String doc() throws IOException {
        return Files.readString(Path.of("").toAbsolutePath().getParent().resolve("docs/access-control.md"))
                .replaceAll("\\s+", " ");
    }

    @Test
    void aSignInWhileTheServerStopsAnswersTheRetryAfterTheDocGives() throws IOException {
        assertThat(doc()).contains("both get a 503 page (`Retry-After: " + ServiceSignIn.STOPPING_RETRY_AFTER.toSeconds()
                + "`) that says to open the page again in " + Durations.format(ServiceSignIn.STOPPING_RETRY_AFTER) + ".");
    }

    /** The page said "again in a minute", written by hand beside a Retry-After of its own. */
    @Test
    void theStoppingPageSaysToComeBackAfterItsRetryAfter() {
        assertThat(ServiceSignIn.STOPPING_MESSAGE)
                .endsWith(" again in " + Durations.format(ServiceSignIn.STOPPING_RETRY_AFTER) + ".");
    }

    @Test
    void theOneTimeCodeIsValidForTheHandoffTtl() throws IOException {
        assertThat(doc()).contains("with a one-time code (valid " + words(ServiceSignIn.HANDOFF_TTL) + ")");
    }

    @Test
    void aRefusedSignInIsLoggedAtMostOncePerItsLogsInterval() throws IOException {
        assertThat(doc()).contains("A refused sign-in is logged at most once "
                + words(ServiceSignIn.REFUSAL_LOG_INTERVAL).replaceFirst("^1 ", "a ") + " per service and cause");
    }

    @Test
    void aSignInFinishesWithinThePendingLoginsTtl() throws IOException {
        assertThat(doc()).contains("checked at its callback) and within " + words(PendingLogins.TTL) + ".");
    }
}
