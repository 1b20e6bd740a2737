package io.picotunnel.server.auth;

import ch.qos.logback.classic.Level;
import io.picotunnel.server.config.Setting;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.Ports;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * What a server with OIDC sign-in says at start, with a real provider (mock-oauth2-server on loopback): how it signs
 * in, and whether the provider answers, without waiting for the first sign-in to find out.
 */
class OidcStartupCheckTest {

    @TempDir
    Path dataDir;
    private MockOAuth2Server provider;
    private TestManagementServer server;

    @BeforeEach
    void startProvider() {
        provider = new MockOAuth2Server();
        provider.start();
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
        provider.shutdown();
    }

    private Map<Setting, String> settings(String issuer, int port) {
        Map<Setting, String> settings = new EnumMap<>(Setting.class);
        settings.put(Setting.LISTEN_ADDR, "127.0.0.1:" + port);
        settings.put(Setting.OIDC_ISSUER, issuer);
        settings.put(Setting.OIDC_CLIENT_ID, "picotunnel");
        settings.put(Setting.OIDC_CLIENT_SECRET, "client-secret");
        settings.put(Setting.OIDC_REDIRECT_URL, "http://localhost:" + port + "/auth/callback");
        settings.put(Setting.OIDC_ALLOWED_EMAILS, "bob@example.com,alice@example.com");
        return settings;
    }

    @Test
    void theStartSaysHowTheUiSignsInAndThatTheProviderAnswered() {
        int port = Ports.freePort();
        String issuer = provider.issuerUrl("default").toString();
        try (LogCapture log = new LogCapture(OidcStartupCheck.class, Level.INFO)) {
            server = TestManagementServer.start(dataDir, settings(issuer, port));

            assertThat(log.messages(Level.INFO)).first().isEqualTo("OIDC sign-in for the web UI through " + issuer
                    + " as client picotunnel (with its client secret); the provider must allow the redirect URI"
                    + " http://localhost:" + port + "/auth/callback; who may sign in: the verified emails"
                    + " alice@example.com, bob@example.com");
            await().atMost(Duration.ofSeconds(20)).until(() -> log.messages(Level.INFO).size() == 2);
            assertThat(log.messages(Level.INFO).get(1))
                    .isEqualTo("OIDC provider " + issuer + " answered its discovery: sign-in is ready");
            assertThat(log.messages(Level.WARN)).isEmpty();
        }
    }

    @Test
    void anIssuerTheProviderDoesNotCallItselfIsLoggedAtTheStartWithTheOneToSet() {
        String issuer = provider.issuerUrl("default").toString();
        try (LogCapture log = new LogCapture(OidcStartupCheck.class, Level.INFO)) {
            server = TestManagementServer.start(dataDir, settings(issuer + "/", Ports.freePort()));

            await().atMost(Duration.ofSeconds(20)).until(() -> !log.messages(Level.WARN).isEmpty());
            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .startsWith("OIDC sign-in cannot work yet: The identity provider at " + issuer + "/ names itself "
                            + issuer + " (the issuer of its discovery document), so the server's administrator must set"
                            + " PICOTUNNEL_OIDC_ISSUER to " + issuer + " exactly.")
                    .endsWith("The server runs; each sign-in asks the provider again.");
        }
    }

    @Test
    void aProviderDownAtTheStartIsLoggedAndTheServerStartsAnyway() {
        String issuer = provider.issuerUrl("default").toString();
        provider.shutdown();
        try (LogCapture log = new LogCapture(OidcStartupCheck.class, Level.INFO)) {
            server = TestManagementServer.start(dataDir, settings(issuer, Ports.freePort()));

            await().atMost(Duration.ofSeconds(20)).until(() -> !log.messages(Level.WARN).isEmpty());
            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .startsWith("OIDC sign-in cannot work yet: The identity provider at " + issuer
                            + " could not be reached. (")
                    // the log's reader runs the server: the advice to try again is the sign-in page's
                    .doesNotContain("try again");
            assertThat(server.server().apiPort()).isPositive();
        }
    }
}
