package io.picotunnel.server.auth;

import io.picotunnel.server.config.Setting;
import io.picotunnel.server.testbed.OidcSettings;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Management sessions end when what admitted them is withdrawn: the admin token rotated, the user taken off the
 * OIDC allow list (a server restarted with the new settings, its sessions kept in SQLite). Sessions whose
 * credential still matches survive the restart.
 */
class SessionRevocationTest {

    @TempDir
    Path dataDir;
    private TestManagementServer server;
    private MockOAuth2Server provider;
    private final Browserless browser = new Browserless();

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
        if (provider != null) {
            provider.shutdown();
        }
    }

    @Test
    void sessionsOfAReplacedAdminTokenEnd() throws Exception {
        String leaked = "a".repeat(64);
        server = TestManagementServer.start(dataDir, Map.of(Setting.ADMIN_TOKEN, leaked));
        assertThat(browser.uiWrite("POST", server.url("/auth/token"), "{\"token\":\"" + leaked + "\"}").statusCode()).isEqualTo(200);
        server.close();

        // the operator replaces the leaked token and restarts
        server = TestManagementServer.start(dataDir, Map.of(Setting.ADMIN_TOKEN, "b".repeat(64)));
        // Before: 200 for up to 7 days with the cookie the leaked token had bought.
        HttpResponse<String> withOldSession = browser.get(server.url("/api/tunnels"));
        assertThat(withOldSession.statusCode()).isEqualTo(401);
    }

    @Test
    void sessionsOfAnUnchangedAdminTokenSurviveARestart() throws Exception {
        String token = "a".repeat(64);
        server = TestManagementServer.start(dataDir, Map.of(Setting.ADMIN_TOKEN, token));
        assertThat(browser.uiWrite("POST", server.url("/auth/token"), "{\"token\":\"" + token + "\"}").statusCode()).isEqualTo(200);
        server.close();

        server = TestManagementServer.start(dataDir, Map.of(Setting.ADMIN_TOKEN, token));
        assertThat(browser.get(server.url("/api/tunnels")).statusCode()).isEqualTo(200);
    }

    @Test
    void sessionsOfAUserRemovedFromTheAllowListEnd() throws Exception {
        provider = new MockOAuth2Server();
        provider.start();
        int port = io.picotunnel.testkit.Ports.freePort();
        startOidc(port, "alice@example.com,bob@example.com");
        provider.enqueueCallback(new DefaultOAuth2TokenCallback("default", "bob", "JWT", List.of("picotunnel"),
                Map.of("email", "bob@example.com", "email_verified", true), 3600));
        HttpResponse<String> login = browser.get(server.url("/auth/login"));
        HttpResponse<String> atProvider = browser.get(Browserless.location(login));
        HttpResponse<String> callback = browser.get(Browserless.location(atProvider));
        assertThat(callback.statusCode()).isEqualTo(303);
        assertThat(browser.get(server.url("/api/tunnels")).statusCode()).isEqualTo(200);
        server.close();

        startOidc(port, "alice@example.com"); // bob is removed
        HttpResponse<String> withOldSession = browser.get(server.url("/api/tunnels"));
        assertThat(withOldSession.statusCode()).isEqualTo(401);
    }

    private void startOidc(int port, String emails) {
        server = TestManagementServer.start(dataDir, OidcSettings.signingInThrough(provider, port, emails));
    }
}
