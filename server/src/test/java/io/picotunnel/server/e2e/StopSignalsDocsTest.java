package io.picotunnel.server.e2e;

import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.config.StopSignals;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README's paragraphs on SIGTERM, the server's and the client's, give how soon after the first a second signal is
 * the same request as {@link StopSignals#SAME_REQUEST}, so a new window cannot leave them saying the old one.
 */
class StopSignalsDocsTest {

    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();

    @Test
    void theReadmeGivesTheWindowOfTheSameRequestForTheServerAndTheClient() throws IOException {
        String readme = Files.readString(ROOT.resolve("README.md")).replaceAll("\\s+", " ");
        String sentence = "a second SIGTERM or Ctrl-C " + Durations.format(StopSignals.SAME_REQUEST)
                + " or more after the first resets them at once";

        assertThat(readme.split(sentence, -1)).as("the server's paragraph and the client's").hasSize(3);
        assertThat(readme).contains("one sooner is the same request, as `timeout` or `kill -- -PGID` can send two");
    }
}
