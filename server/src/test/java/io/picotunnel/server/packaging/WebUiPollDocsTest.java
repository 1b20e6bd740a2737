package io.picotunnel.server.packaging;

import io.picotunnel.protocol.config.Durations;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/web-ui.md and docs/monitoring.md give the UI's polling as the constants of web/src/usePolling.ts, so a new
 * interval cannot leave them saying the old one.
 */
class WebUiPollDocsTest {

    private static String doc(String name) throws IOException {
        return Files.readString(DeploymentFilesTest.ROOT.resolve("docs/" + name)).replaceAll("\\s+", " ");
    }

    /** {@code export const NAME = 3000;} (or {@code 30_000}) of web/src/usePolling.ts, as a duration. */
    private static String uiConstant(String name) throws IOException {
        String source = Files.readString(DeploymentFilesTest.ROOT.resolve("web/src/usePolling.ts"));
        Matcher match = Pattern.compile("export const " + name + " = ([0-9_]+);").matcher(source);
        assertThat(match.find()).as("%s in web/src/usePolling.ts", name).isTrue();
        return Durations.format(Duration.ofMillis(Long.parseLong(match.group(1).replace("_", ""))));
    }

    @Test
    void theTunnelPagePollsAtThePollInterval() throws IOException {
        String every = uiConstant("POLL_INTERVAL_MS");

        assertThat(doc("web-ui.md")).contains("the page polls every " + every
                        + " (not while its last poll is unanswered, for up to " + uiConstant("STUCK_LOAD_MS") + ")")
                .contains("(the UI keeps polling every " + every + ")");
    }

    @Test
    void thePublicStatusPagePollsAtItsInterval() throws IOException {
        assertThat(doc("monitoring.md")).contains("The page polls every " + uiConstant("STATUS_POLL_INTERVAL_MS") + ".");
    }
}
