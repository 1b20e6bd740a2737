package io.picotunnel.server.acme;

import io.picotunnel.protocol.config.Durations;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static io.picotunnel.testkit.ProseDurations.words;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/tls.md and docs/protocol.md give ACME's retry delays, the CA's longest Retry-After, an order's deadline and
 * its parts, and the grace of an order under way at shutdown as the constants that set them, so a new value cannot leave the docs saying the old one.
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

    @Test
    void anOrderIsGivenUpAfterItsWaitsAndRequests() throws IOException {
        AcmeSettings defaults = AcmeSettings.of(null, null, null);
        BigDecimal minutes = BigDecimal.valueOf(defaults.orderDeadline().toSeconds())
                .divide(BigDecimal.valueOf(60), 2, RoundingMode.HALF_UP).stripTrailingZeros();
        List<String> numbers = List.of("no", "one", "two", "three", "four", "five", "six");

        assertThat(doc("tls.md")).contains("completed within " + minutes.toPlainString() + " minutes as a whole ("
                        + numbers.get(AcmeSettings.ORDER_WAITS) + " waits of " + words(AcmeSettings.DEFAULT_TIMEOUT)
                        + " for the CA plus " + words(defaults.requestTimeout()) + " for each of "
                        + AcmeSettings.ORDER_REQUESTS + " requests around them)")
                .contains("A CA that does not answer a request within " + words(AcmeSettings.LONGEST_REQUEST))
                .contains("did not answer within " + Durations.format(AcmeSettings.LONGEST_REQUEST) + "`");
    }
}
