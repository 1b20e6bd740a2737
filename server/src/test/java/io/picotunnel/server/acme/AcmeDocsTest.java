package io.picotunnel.server.acme;

import io.picotunnel.protocol.config.Durations;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static io.picotunnel.testkit.ProseDurations.words;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/tls.md and docs/protocol.md give ACME's retry delays, the CA's longest Retry-After and the grace of an order
 * under way at shutdown as the constants that set them, so a new value cannot leave the docs saying the old one.
 */
class AcmeDocsTest {

    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();

    private static String doc(String name) throws IOException {
        return Files.readString(ROOT.resolve("docs/" + name)).replaceAll("\\s+", " ");
    }

    @Test
    void failuresAreRetriedAfterTheDefaultDelays() throws IOException {
        String longest = words(AcmeSettings.DEFAULT_MAX_RETRY);

        assertThat(doc("tls.md")).contains("retried after " + words(AcmeSettings.DEFAULT_FIRST_RETRY)
                        + ", doubling up to " + longest + " (no tight loop")
                .contains("A next attempt more than " + longest + " (the longest delay)")
                .contains("is taken as " + longest + " from then");
    }

    @Test
    void theCasRetryAfterIsTakenUpToItsLimit() throws IOException {
        String limit = words(AcmeManager.MAX_CA_RETRY_AFTER);

        assertThat(doc("tls.md")).contains("`Retry-After` (at most " + limit + "), when that is later")
                .contains("when later, up to " + limit + " from then)");
    }

    @Test
    void anOrderPastValidationGetsTheFinishGraceAtShutdown() throws IOException {
        Duration grace = AcmeManager.FINISH_GRACE;

        assertThat(doc("tls.md")).contains("is first given up to " + words(grace) + " to end")
                .contains("`waiting up to " + Durations.format(grace) + " for the order under way");
        assertThat(doc("protocol.md")).contains("one past validation gets up to " + Durations.format(grace)
                + " to have its certificate saved");
    }
}
