package io.picotunnel.server.auth;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static io.picotunnel.testkit.ProseDurations.words;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/web-ui.md gives the waits after wrong admin tokens and wrong tunnel tokens as {@link FailedLogins#MANAGEMENT}
 * and {@link FailedLogins#TUNNEL}, so a new policy cannot leave the doc saying the old one.
 */
class FailedLoginsDocsTest {

    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();

    private static String webUiDoc() throws IOException {
        return Files.readString(ROOT.resolve("docs/web-ui.md")).replaceAll("\\s+", " ");
    }

    @Test
    void wrongAdminTokensWaitAsTheManagementPolicySays() throws IOException {
        FailedLogins.Policy policy = FailedLogins.MANAGEMENT;
        long first = policy.firstDelay().toSeconds();

        assertThat(webUiDoc()).contains("After " + policy.freeFailures() + " failures from one address")
                .contains("that address must wait " + words(policy.firstDelay()) + " before it may try again, then "
                        + 2 * first + ", " + 4 * first + ", ... up to " + words(policy.maxDelay()) + ";")
                .contains("one quiet for " + words(policy.forgetAfter()) + " is forgotten");
    }

    @Test
    void wrongTunnelTokensWaitAsTheTunnelPolicySays() throws IOException {
        FailedLogins.Policy policy = FailedLogins.TUNNEL;

        assertThat(webUiDoc()).contains("(" + policy.freeFailures() + " free failures, waits up to "
                + words(policy.maxDelay()) + ";");
    }
}
