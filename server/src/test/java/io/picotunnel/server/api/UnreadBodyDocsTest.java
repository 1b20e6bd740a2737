package io.picotunnel.server.api;

import io.picotunnel.protocol.config.Durations;
import io.picotunnel.server.net.LimitedBody;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/api.md gives how much of a body answered before it was read is read and dropped, and for how long, as
 * {@link LimitedBody#DROPPED_BYTES} and {@link LimitedBody#DROP_TIME}, and how long a body may take to arrive, as
 * {@link LimitedBody#READ_TIME}.
 */
class UnreadBodyDocsTest {

    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();

    @Test
    void theDocGivesTheBoundsOfTheDrop() throws IOException {
        String doc = Files.readString(ROOT.resolve("docs/api.md")).replaceAll("\\s+", " ");

        assertThat(LimitedBody.DROPPED_BYTES % (1024 * 1024)).isZero();
        assertThat(doc).contains("read and dropped, up to " + LimitedBody.DROPPED_BYTES / (1024 * 1024) + " MiB and for up to "
                + Durations.format(LimitedBody.DROP_TIME) + " in all");
    }

    @Test
    void theDocGivesTheReadTimeOfABody() throws IOException {
        String doc = Files.readString(ROOT.resolve("docs/api.md")).replaceAll("\\s+", " ");

        assertThat(doc).contains("`request_timeout` | the body did not arrive within "
                + Durations.format(LimitedBody.READ_TIME) + " in all");
    }
}
