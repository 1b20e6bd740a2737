package io.picotunnel.server.tunnel;

import io.picotunnel.protocol.config.Durations;
import io.picotunnel.server.auth.FailedLogins;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/protocol.md gives the tunnel endpoint's fixed waits (the upgrade's deadline, the Retry-After of each refusal,
 * the wait after wrong tokens) as the constants that set them, so a new value cannot leave the doc saying the old one.
 * The lingering close after a refusal: LingeringCloseDocsTest.
 */
class TunnelEndpointDocsTest {

    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();

    private static String protocolDoc() throws IOException {
        return Files.readString(ROOT.resolve("docs/protocol.md")).replaceAll("\\s+", " ");
    }

    private static String format(Duration duration) {
        return Durations.format(duration);
    }

    @Test
    void theUpgradeMustBeDoneWithinTheHandshakeTimeout() throws IOException {
        assertThat(protocolDoc()).contains("The request and the upgrade must be done within "
                + format(TunnelEndpointConfig.DEFAULT_HANDSHAKE_TIMEOUT) + " of connecting");
    }

    @Test
    void eachRefusalGivesItsRetryAfter() throws IOException {
        String stopping = format(TunnelHandshakeHandler.RETRY_WHEN_SHUTTING_DOWN);

        assertThat(protocolDoc())
                .contains("`503 unavailable` " + format(TunnelHandshakeHandler.RETRY_WHEN_STORE_FAILS)
                        + " when the server cannot check tokens")
                .contains("`503 server_stopping` " + stopping + " when it arrives while the server shuts down")
                .contains("handshake was under way `503 server_stopping` with `Retry-After: "
                        + TunnelHandshakeHandler.RETRY_WHEN_SHUTTING_DOWN.toSeconds() + "`");
    }

    @Test
    void wrongTokensAreRefusedAfterTheTunnelPolicysFreeFailures() throws IOException {
        FailedLogins.Policy policy = FailedLogins.TUNNEL;

        assertThat(protocolDoc()).contains("(too many wrong tokens from one address: after " + policy.freeFailures()
                + ", a wait from " + format(policy.firstDelay()) + " doubling up to " + format(policy.maxDelay()) + ")");
    }
}
