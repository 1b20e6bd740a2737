package io.picotunnel.server;

import io.picotunnel.protocol.config.Durations;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A stop during the start waits for it for the grace or {@link SignalStop#MIN_START_WAIT}, whichever is longer: the
 * README and the server's unit said the grace alone after the wait got its floor, and whatever stops the server must
 * wait longer than that before it kills.
 */
class StopDuringStartDocsTest {

    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    private static final String START_WAIT = Durations.format(SignalStop.MIN_START_WAIT);

    @Test
    void theReadmeTellsWhateverStopsTheServerToWaitLongerThanTheStartWait() throws IOException {
        String readme = Files.readString(ROOT.resolve("README.md")).replaceAll("\\s+", " ");

        assertThat(readme).contains("Whatever stops it must wait longer than that grace (30 s; the client's is 10 s),"
                + " and than " + START_WAIT + " for a stop during the start, before it kills");
    }

    @Test
    void theServerUnitGivesTheStartWaitAndWaitsLongerThanIt() throws IOException {
        String unit = Files.readString(ROOT.resolve("packaging/systemd/picotunnel-server.service"));
        String comments = unit.lines().filter(line -> line.startsWith("# ")).map(line -> line.substring(2))
                .reduce("", (text, line) -> text + " " + line);

        assertThat(comments).contains("a start that did not finish within that grace or " + START_WAIT
                + ", whichever is longer");
        Duration grace = ServerConfig.load(Map.of(), Map.of()).shutdownGrace();
        assertThat(timeoutStopSec(unit)).as("TimeoutStopSec").hasValueSatisfying(timeout ->
                assertThat(timeout).isGreaterThan(SignalStop.startWait(grace, SignalStop.MIN_START_WAIT)));
    }

    @Test
    void theTimeoutIsReadFromAUnitWithLfOrCrlfLineEnds() {
        assertThat(timeoutStopSec("[Service]\nTimeoutStopSec=95\nKillMode=mixed\n")).hasValue(Duration.ofSeconds(95));
        assertThat(timeoutStopSec("[Service]\r\nTimeoutStopSec=95\r\nKillMode=mixed\r\n")).hasValue(Duration.ofSeconds(95));
        assertThat(timeoutStopSec("[Service]\r\nTimeoutStopSec=95")).hasValue(Duration.ofSeconds(95));
        assertThat(timeoutStopSec("[Service]\n# TimeoutStopSec=95\n")).isEmpty();
    }

    /** The unit's {@code TimeoutStopSec=} in seconds, on a line of its own, whatever the file's line ends (a checkout with CRLF). */
    private static Optional<Duration> timeoutStopSec(String unit) {
        Matcher timeout = Pattern.compile("^TimeoutStopSec=(\\d+)$", Pattern.MULTILINE).matcher(unit);
        return timeout.find() ? Optional.of(Duration.ofSeconds(Long.parseLong(timeout.group(1)))) : Optional.empty();
    }
}
