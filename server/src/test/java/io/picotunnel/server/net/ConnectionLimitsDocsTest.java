package io.picotunnel.server.net;

import io.picotunnel.protocol.config.Durations;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/http-proxy.md (the proxy's listeners) and docs/protocol.md (the tunnel endpoint) give the lingering close
 * after a refused connection's answer as {@link ConnectionLimits#LINGER}, so new bounds cannot leave them saying the
 * old ones.
 */
class ConnectionLimitsDocsTest {

    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();

    @ParameterizedTest
    @ValueSource(strings = {"docs/http-proxy.md", "docs/protocol.md"})
    void theDocGivesTheLingeringCloseAfterARefusal(String file) throws IOException {
        LingeringClose.Bounds bounds = ConnectionLimits.LINGER;
        String doc = Files.readString(ROOT.resolve(file)).replaceAll("\\s+", " ");

        assertThat(bounds.bytes() % 1024).as("a whole number of KiB").isZero();
        assertThat(doc).contains("reads and drops what the client still sends for at most "
                + Durations.format(bounds.idle()) + " without data, " + Durations.format(bounds.total()) + " in all or "
                + bounds.bytes() / 1024 + " KiB (a lingering close");
    }
}
