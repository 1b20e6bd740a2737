package io.picotunnel.server.auth;

import io.picotunnel.protocol.config.Durations;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.picotunnel.testkit.ProseDurations.words;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/web-ui.md gives the UI's sign-in and session lifetimes, the bound of a call to the provider and the UI's
 * request timeout as the constants that set them, so a new value cannot leave the doc saying the old one.
 */
class WebUiSignInDocsTest {

    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();

    private static String webUiDoc() throws IOException {
        return Files.readString(ROOT.resolve("docs/web-ui.md")).replaceAll("\\s+", " ");
    }

    @Test
    void aSessionEndsAsTheSessionStoreSays() throws IOException {
        assertThat(webUiDoc()).contains("A session ends after " + words(SessionStore.DEFAULT_IDLE_TIMEOUT)
                + " without use or " + SessionStore.DEFAULT_ABSOLUTE_TIMEOUT.toDays() + " days after sign-in");
    }

    @Test
    void aRefusedSignInIsLoggedAtMostOncePerTheRefusalLogsInterval() throws IOException {
        assertThat(webUiDoc()).contains("The log says why too (without codes or tokens), at most once "
                + words(ManagementAuth.REFUSAL_LOG_INTERVAL).replaceFirst("^1 ", "a ") + " per cause");
    }

    @Test
    void aPendingSignInAndItsCookieLiveAsLongAsPendingLoginsKeepsThem() throws IOException {
        String ttl = words(PendingLogins.TTL);

        assertThat(webUiDoc()).contains("`" + ManagementAuth.SIGN_IN_COOKIE + "-<state>` (`HttpOnly`, `SameSite=Lax`, " + ttl + ")")
                .contains("Pending sign-ins live " + ttl + ";");
    }

    @Test
    void theSignInErrorCookieLivesAsManagementAuthSetsIt() throws IOException {
        assertThat(webUiDoc()).contains("`picotunnel_signin_error` (`HttpOnly`, "
                + words(Duration.ofSeconds(ManagementAuth.SIGN_IN_ERROR_LIFETIME_SECONDS)) + ")");
    }

    @Test
    void eachCallToTheProviderHasTheCallTimeout() throws IOException {
        assertThat(webUiDoc()).contains("Each call to the provider (discovery, the token exchange, its signing keys) has "
                + Durations.format(OidcProvider.CALL_TIMEOUT) + " as a whole");
    }

    @Test
    void theUiGivesUpARequestAfterItsRequestTimeout() throws IOException {
        String source = Files.readString(ROOT.resolve("web/src/api.ts"));
        Matcher match = Pattern.compile("export const REQUEST_TIMEOUT_MS = ([0-9_]+);").matcher(source);
        assertThat(match.find()).as("REQUEST_TIMEOUT_MS in web/src/api.ts").isTrue();
        Duration timeout = Duration.ofMillis(Long.parseLong(match.group(1).replace("_", "")));

        assertThat(webUiDoc()).contains("A request the server has not answered within " + Durations.format(timeout)
                + " (it took the connection");
    }
}
