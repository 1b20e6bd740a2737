package io.picotunnel.server.access;

import io.picotunnel.protocol.config.Durations;
import io.picotunnel.server.auth.FailedLogins;
import io.picotunnel.server.net.RetryAfter;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static io.picotunnel.testkit.ProseDurations.words;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/access-control.md gives the waits after wrong Basic credentials as {@link BasicAuthGate#FAILURES}, and the
 * Retry-After of busy password checks as {@link RetryAfter#PASSWORD_CHECKS_BUSY}, and how long credentials that passed
 * are remembered as {@link BasicAuthGate#REMEMBER_NANOS}, so new values cannot leave the doc saying the old ones.
 */
class BasicAuthFailuresDocsTest {

    @Test
    void wrongCredentialsWaitAsTheGatesPolicySays() throws IOException {
        FailedLogins.Policy policy = BasicAuthGate.FAILURES;
        String doc = Files.readString(Path.of("").toAbsolutePath().getParent().resolve("docs/access-control.md"))
                .replaceAll("\\s+", " ");

        assertThat(doc).contains("after " + policy.freeFailures() + ", the address must wait "
                        + Durations.format(policy.firstDelay()) + ", twice as long after each further one up to "
                        + words(policy.maxDelay()) + " (forgotten after " + policy.forgetAfter().toMinutes()
                        + " quiet minutes,");
    }

    /** The cost the server hashes with, and the highest a stored hash may have, as {@link PasswordHash} has them. */
    @Test
    void thePasswordHashCostsAreThoseOfPasswordHash() throws IOException {
        String doc = Files.readString(Path.of("").toAbsolutePath().getParent().resolve("docs/access-control.md"))
                .replaceAll("\\s+", " ");

        assertThat(doc).contains("bcrypt (`$2y$`, cost " + PasswordHash.COST + ", Bouncy Castle)")
                .contains("A stored hash above cost " + PasswordHash.MAX_COST + " (edited by hand in the database)");
    }

    @Test
    void busyChecksAnswerTheGatesRetryAfter() throws IOException {
        String doc = Files.readString(Path.of("").toAbsolutePath().getParent().resolve("docs/access-control.md"));

        long busy = RetryAfter.PASSWORD_CHECKS_BUSY.toSeconds();
        assertThat(doc).contains("as many other passwords being checked as it may (`Retry-After: " + busy + "`) |")
                .contains("as many passwords as it can at once (`Retry-After: " + busy + "`;");
    }

    /** The server_stopping and check_timeout rows give the proxy's Retry-After, which both answers send. */
    @Test
    void stoppedAndTimedOutChecksAnswerTheProxysRetryAfter() throws IOException {
        String doc = Files.readString(Path.of("").toAbsolutePath().getParent().resolve("docs/access-control.md"));
        String retryAfter = "`Retry-After: " + RetryAfter.IN_A_MOMENT.toSeconds() + "`;";

        for (String error : List.of("server_stopping", "check_timeout")) {
            String row = doc.lines().filter(line -> line.startsWith("| 503 | `" + error + "` |")).findFirst().orElseThrow();
            assertThat(row).as(error).contains(retryAfter);
        }
    }

    @Test
    void credentialsThatPassedAreRememberedAsLongAsTheGateKeepsThem() throws IOException {
        String doc = Files.readString(Path.of("").toAbsolutePath().getParent().resolve("docs/access-control.md"))
                .replaceAll("\\s+", " ");

        assertThat(doc).contains("credentials that passed are remembered for "
                + words(Duration.ofNanos(BasicAuthGate.REMEMBER_NANOS)) + " (by a digest");
    }
}
