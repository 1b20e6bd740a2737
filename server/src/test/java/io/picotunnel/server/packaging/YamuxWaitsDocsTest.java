package io.picotunnel.server.packaging;

import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.server.config.Setting;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * --help, the README and docs/protocol.md give the waits apart from --stream-open-timeout (a ping's answer, a closed
 * stream's linger, a stalled reader) as {@link YamuxConfig#DEFAULT_TIMEOUT}, and docs/protocol.md the keepalive as
 * {@link YamuxConfig#DEFAULT_KEEPALIVE_INTERVAL}, so a new default cannot leave them saying the old one.
 */
class YamuxWaitsDocsTest {

    private static final String WAIT = Durations.format(YamuxConfig.DEFAULT_TIMEOUT);

    @Test
    void theHelpGivesTheOtherWaitsTheDefault() {
        assertThat(Setting.STREAM_OPEN_TIMEOUT.description()).endsWith(" after its session ended keep " + WAIT + ".");
    }

    @Test
    void streamOpenTimeoutDefaultsToTheSameWait() {
        assertThat(Durations.parse(Setting.STREAM_OPEN_TIMEOUT.declaration().defaultValue()))
                .as("--stream-open-timeout's default").isEqualTo(YamuxConfig.DEFAULT_TIMEOUT);
    }

    @Test
    void theReadmeGivesTheOtherWaitsTheDefault() throws IOException {
        String row = Files.readAllLines(DeploymentFilesTest.ROOT.resolve("README.md")).stream()
                .filter(line -> line.startsWith("| `PICOTUNNEL_STREAM_OPEN_TIMEOUT` |")).findFirst().orElseThrow();
        assertThat(row).contains("after its session ended keep their " + WAIT + " whatever it is");
    }

    @Test
    void theProtocolDocGivesEachOtherWaitTheDefault() throws IOException {
        String doc = Files.readString(DeploymentFilesTest.ROOT.resolve("docs/protocol.md")).replaceAll("\\s+", " ");

        assertThat(doc).contains("(the server's `--stream-open-timeout`, " + WAIT + " by default;")
                .contains("acknowledged within the stream open timeout are reset (hashicorp/yamux 2019 waits forever): "
                        + WAIT + " by default")
                .contains("a ping's answer, a closed stream's linger and a stalled reader after its session"
                        + " ended wait " + WAIT + " each whatever it is")
                .contains("A closed stream is reset only after a linger of " + WAIT
                        + " (not the server's `--stream-open-timeout`)")
                .contains("a reader that takes none of it for " + WAIT + " (not the server's `--stream-open-timeout`)")
                .contains("a closed stream's linger and a stalled reader after its session ended keep " + WAIT
                        + " each on both sides");
    }

    @Test
    void theProtocolDocGivesTheKeepaliveItsDefault() throws IOException {
        String doc = Files.readString(DeploymentFilesTest.ROOT.resolve("docs/protocol.md")).replaceAll("\\s+", " ");

        assertThat(doc).contains("Each side pings (Ping|SYN, any opaque) every "
                        + Durations.format(YamuxConfig.DEFAULT_KEEPALIVE_INTERVAL) + " and answers pings")
                .contains("a dead peer is detected within two intervals ("
                        + Durations.format(YamuxConfig.DEFAULT_KEEPALIVE_INTERVAL.multipliedBy(2)) + ")")
                .contains("whenever keepalive is on), waits one interval ("
                        + Durations.format(YamuxConfig.DEFAULT_KEEPALIVE_INTERVAL) + ")");
    }

    @Test
    void defaultsPingsAtTheNamedKeepaliveInterval() {
        assertThat(YamuxConfig.defaults().keepAliveInterval()).isEqualTo(YamuxConfig.DEFAULT_KEEPALIVE_INTERVAL);
    }
}
