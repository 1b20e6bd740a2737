package io.picotunnel.server.net;

import io.picotunnel.protocol.config.Durations;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/protocol.md (a refused tunnel upgrade) and docs/http-proxy.md (a last answer of the proxy) give the bounds of
 * the lingering close as {@link LingeringClose.Bounds#DEFAULT}, so new bounds cannot leave them saying the old ones.
 */
class LingeringCloseDocsTest {

    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    private static final int MIB = 1024 * 1024;

    @ParameterizedTest
    @ValueSource(strings = {"docs/protocol.md", "docs/http-proxy.md"})
    void theDocGivesTheDefaultBounds(String file) throws IOException {
        LingeringClose.Bounds bounds = LingeringClose.Bounds.DEFAULT;
        String doc = Files.readString(ROOT.resolve(file)).replaceAll("\\s+", " ");

        assertThat(doc).contains(" closes, " + Durations.format(bounds.idle()) + " pass without data, "
                + Durations.format(bounds.total()) + " in all or " + bounds.bytes() / MIB + " MiB, and only then closes");
    }

    @Test
    void theDefaultByteBoundIsAWholeNumberOfMib() {
        assertThat(LingeringClose.Bounds.DEFAULT.bytes() % MIB).isZero();
    }
}
