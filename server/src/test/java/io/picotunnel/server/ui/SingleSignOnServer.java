package io.picotunnel.server.ui;

import com.microsoft.playwright.Page;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.ServerConfig;
import io.picotunnel.server.config.Setting;
import io.picotunnel.testkit.Ports;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.OAuth2Config;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;

/**
 * A real server whose UI signs in through a real OpenID Connect provider (mock-oauth2-server with its interactive
 * login page), the UI and API at {@link #baseUrl()}. Closing it stops the server, then the provider.
 */
final class SingleSignOnServer implements AutoCloseable {

    private final MockOAuth2Server provider;
    private final PicoTunnelServer server;
    private final String baseUrl;

    private SingleSignOnServer(MockOAuth2Server provider, PicoTunnelServer server, String baseUrl) {
        this.provider = provider;
        this.server = server;
        this.baseUrl = baseUrl;
    }

    /** Starts the provider and a server that lets {@code allowedEmails} (comma-separated) sign in. */
    static SingleSignOnServer start(Path dataDir, String allowedEmails) {
        MockOAuth2Server provider = new MockOAuth2Server(new OAuth2Config(true));
        provider.start();
        try {
            int port = Ports.freePort();
            String baseUrl = "http://localhost:" + port;
            Map<Setting, String> settings = new EnumMap<>(Setting.class);
            settings.put(Setting.LISTEN_ADDR, "127.0.0.1:" + port);
            settings.put(Setting.OIDC_ISSUER, provider.issuerUrl("default").toString());
            settings.put(Setting.OIDC_CLIENT_ID, "picotunnel");
            settings.put(Setting.OIDC_CLIENT_SECRET, "browser-test-secret");
            settings.put(Setting.OIDC_REDIRECT_URL, baseUrl + "/auth/callback");
            settings.put(Setting.OIDC_ALLOWED_EMAILS, allowedEmails);
            PicoTunnelServer server = PicoTunnelServer.start(ServerConfig.ephemeral(dataDir, settings),
                    new PrintStream(OutputStream.nullOutputStream()));
            return new SingleSignOnServer(provider, server, baseUrl);
        } catch (RuntimeException e) {
            provider.shutdown();
            throw e;
        }
    }

    MockOAuth2Server provider() {
        return provider;
    }

    PicoTunnelServer server() {
        return server;
    }

    /** {@code http://localhost:<port>}, where the UI and API listen. */
    String baseUrl() {
        return baseUrl;
    }

    /**
     * At the provider's login page, which {@code page} is on or on its way to: signs in as {@code user} with
     * {@code claims} (a JSON object) as a user fills in the form.
     */
    void signInAtProvider(Page page, String user, String claims) {
        page.waitForURL(url -> url.startsWith(provider.baseUrl().toString()));
        page.locator("input[name=username]").fill(user);
        page.locator("textarea[name=claims]").fill(claims);
        page.locator("input[type=submit]").click();
    }

    /** The claims of a user whose provider verified {@code email}. */
    static String verifiedEmail(String email) {
        return "{\"email\": \"" + email + "\", \"email_verified\": true}";
    }

    @Override
    public void close() {
        try {
            server.stop();
        } finally {
            provider.shutdown();
        }
    }
}
