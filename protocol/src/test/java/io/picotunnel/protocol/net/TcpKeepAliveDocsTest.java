package io.picotunnel.protocol.net;

import io.picotunnel.protocol.config.Durations;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/protocol.md gives the TCP keepalive of relayed sockets as {@link Transport}'s constants, and the time to find
 * a vanished peer as what they add up to, so new values cannot leave the doc saying the old ones.
 */
class TcpKeepAliveDocsTest {

    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();

    @Test
    void theProtocolDocGivesTheKeepaliveProbes() throws IOException {
        String doc = Files.readString(ROOT.resolve("docs/protocol.md")).replaceAll("\\s+", " ");
        Duration found = Duration.ofSeconds(Transport.KEEPALIVE_IDLE_SECONDS
                + (long) Transport.KEEPALIVE_INTERVAL_SECONDS * Transport.KEEPALIVE_PROBES);

        assertThat(doc).contains("use TCP keepalive (probes after " + Transport.KEEPALIVE_IDLE_SECONDS
                        + " s of silence, every " + Transport.KEEPALIVE_INTERVAL_SECONDS + " s, "
                        + Transport.KEEPALIVE_PROBES + " unanswered)")
                .contains("is found in about " + Durations.format(found) + ",");
    }
}
