package io.picotunnel.client.tunnel;

import io.picotunnel.client.ClientMain;
import io.picotunnel.protocol.config.Durations;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** --help, the README and docs/protocol.md give the reconnection delays as {@link Backoff}'s constants. */
class BackoffDocsTest {

    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    private static final String INITIAL = Durations.format(Backoff.INITIAL);
    private static final String MAX = Durations.format(Backoff.MAX);
    private static final String STABLE_AFTER = Durations.format(Backoff.DEFAULT_STABLE_AFTER);

    private static String read(String file) throws IOException {
        return Files.readString(ROOT.resolve(file)).replaceAll("\\s+", " ");
    }

    @Test
    void theReadmeGivesTheBackoffDelays() throws IOException {
        assertThat(read("README.md")).contains("It reconnects on its own (" + INITIAL + " doubling to " + MAX
                + ", starting over once a connection lasted " + STABLE_AFTER + ";");
    }

    @Test
    void theProtocolDocGivesTheBackoffDelays() throws IOException {
        assertThat(read("docs/protocol.md"))
                .contains("the client waits " + INITIAL + ", doubling up to " + MAX + ", each delay")
                .contains("after a connection stayed up for at least " + STABLE_AFTER + ":");
    }

    @Test
    void theHelpGivesTheBackoffDelays() {
        String description = String.join(" ", ClientMain.class.getAnnotation(CommandLine.Command.class).description());

        assertThat(description).contains("Reconnects on its own (" + INITIAL + " doubling to " + MAX
                + ", starting over once a connection lasted " + STABLE_AFTER + ").");
    }
}
