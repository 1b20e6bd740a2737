package io.picotunnel.client.tunnel;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static io.picotunnel.testkit.ProseDurations.words;
import static org.assertj.core.api.Assertions.assertThat;

/** The README says how often a target's failures are logged, and how many such lines at most, as the constants. */
class TargetFailureLogDocsTest {

    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();

    @Test
    void theReadmeGivesTheIntervalAndTheMostLinesOfTargetFailures() throws IOException {
        String every = words(TargetFailureLog.EVERY).replaceFirst("^1 ", "a ");

        assertThat(Files.readString(ROOT.resolve("README.md")).replaceAll("\\s+", " "))
                .contains("A target it cannot reach (or may not dial) resets that connection only and is logged at most"
                        + " once " + every + ", with the count of failures left out since the last line about it, and at"
                        + " most " + TargetFailureLog.MAX_LINES + " such lines " + every + " in all");
    }
}
