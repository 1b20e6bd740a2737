package io.picotunnel.server.testbed;

import io.picotunnel.server.config.Setting;
import no.nav.security.mock.oauth2.MockOAuth2Server;

import java.util.EnumMap;
import java.util.Map;

/** The settings of a server whose sign-in goes through a mock OIDC provider (its issuer "default"). */
public final class OidcSettings {

    /** The client id the server is registered with at the provider. */
    public static final String CLIENT_ID = "picotunnel";

    private OidcSettings() {
    }

    /**
     * A server whose management port is {@code port} on 127.0.0.1, signing in through {@code provider}, the UI open to
     * {@code allowedEmails}; a map the caller may add to.
     */
    public static Map<Setting, String> signingInThrough(MockOAuth2Server provider, int port, String allowedEmails) {
        Map<Setting, String> settings = new EnumMap<>(Setting.class);
        settings.put(Setting.LISTEN_ADDR, "127.0.0.1:" + port);
        settings.put(Setting.OIDC_ISSUER, provider.issuerUrl("default").toString());
        settings.put(Setting.OIDC_CLIENT_ID, CLIENT_ID);
        settings.put(Setting.OIDC_CLIENT_SECRET, "client-secret-that-is-long-enough-for-hmac-256");
        settings.put(Setting.OIDC_REDIRECT_URL, "http://localhost:" + port + "/auth/callback");
        settings.put(Setting.OIDC_ALLOWED_EMAILS, allowedEmails);
        return settings;
    }
}
