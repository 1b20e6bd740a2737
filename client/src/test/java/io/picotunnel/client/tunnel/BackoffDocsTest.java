package io.picotunnel.client.tunnel;

import io.picotunnel.client.ClientMain;
import io.picotunnel.protocol.config.Durations;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** --help, the README and docs/protocol.md give the reconnection delays as {@link Backoff}'s constants. */
class BackoffDocsTest {

    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    private static final String INITIAL = Durations.format(Backoff.INITIAL);
    private static final String MAX = Durations.format(Backoff.MAX);
    private static final String STABLE_AFTER = Durations.format(Backoff.DEFAULT_STABLE_AFTER);
    private static final String RESTART_WAIT = Durations.format(Backoff.RESTART_WAIT);

    private static String read(String file) throws IOException {
        return Files.readString(ROOT.resolve(file)).replaceAll("\\s+", " ");
    }

    @Test
    void theReadmeGivesTheBackoffDelays() throws IOException {
        assertThat(read("README.md")).contains("It reconnects on its own (" + INITIAL + " doubling to " + MAX
                + ", starting over once a connection lasted " + STABLE_AFTER + ";");
    }

    /**
     * After a restart the client may come back the longest delay after the server did: the README's curl retries for
     * longer, or it gives up on a tunnel about to come back (a 15 s stop left a 13.7 s wait, beyond 10 retries 1 s apart).
     */
    @Test
    void theReadmesRestartNoteRetriesForLongerThanTheLongestDelay() throws IOException {
        String readme = read("README.md");
        assertThat(readme).contains("the client then tries again every " + INITIAL + " for " + RESTART_WAIT + ":")
                .contains("While the server is away longer the client's delays between attempts double from "
                + INITIAL + " up to " + MAX + ", so it may come back up to " + MAX + " after the server did");
        Matcher curl = Pattern.compile("curl --retry (\\d+) --retry-all-errors --retry-delay (\\d+) --retry-max-time"
                + " (\\d+) http://localhost:2222/").matcher(readme);
        assertThat(curl.find()).as("the restart note's curl").isTrue();
        long retries = Long.parseLong(curl.group(1));
        long delay = Long.parseLong(curl.group(2));
        long maxTime = Long.parseLong(curl.group(3));

        assertThat(maxTime).isGreaterThan(Backoff.MAX.toSeconds());
        assertThat(retries * delay).as("retries times their delay").isGreaterThanOrEqualTo(maxTime);
    }

    @Test
    void theProtocolDocGivesTheBackoffDelays() throws IOException {
        assertThat(read("docs/protocol.md"))
                .contains("the client waits " + INITIAL + ", doubling up to " + MAX + ", each delay")
                .contains("after a connection stayed up for at least " + STABLE_AFTER + ":")
                .contains("the client redials every " + INITIAL + " (shortened at random by up to a fifth), for "
                        + RESTART_WAIT + " from then")
                .contains("A server still unreachable " + RESTART_WAIT + " after it said it is stopping is a WARN")
                .contains("then less often the longer it drains: every sixth of the stop beyond its first "
                        + RESTART_WAIT + ", up to " + Durations.format(Backoff.LONG_DRAIN_MAX) + " apart");
    }

    @Test
    void theHelpGivesTheBackoffDelays() {
        String description = String.join(" ", ClientMain.class.getAnnotation(CommandLine.Command.class).description());

        assertThat(description).contains("Reconnects on its own (" + INITIAL + " doubling to " + MAX
                + ", starting over once a connection lasted " + STABLE_AFTER + ").");
    }
}
