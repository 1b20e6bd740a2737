package io.picotunnel.server.auth;

import java.net.URI;
import java.util.Objects;
import java.util.Set;

/**
 * The OpenID Connect provider the management UI signs in with ({@code PICOTUNNEL_OIDC_*}). A user needs a
 * verified allowed email or an allowed group; with both allow lists empty nobody may enter unless
 * {@code allowAll} ({@code PICOTUNNEL_OIDC_ALLOW_ALL=true}) lets every user of the provider in. Without a client
 * secret the server signs in as a public client (PKCE only).
 */
public record OidcSettings(
        URI issuer,
        String clientId,
        String clientSecret,
        URI redirectUrl,
        Set<String> allowedEmails,
        Set<String> allowedGroups,
        boolean allowAll) {

    public OidcSettings {
        Objects.requireNonNull(issuer, "issuer");
        Objects.requireNonNull(clientId, "clientId");
        Objects.requireNonNull(redirectUrl, "redirectUrl");
        allowedEmails = allowedEmails == null ? Set.of() : Set.copyOf(allowedEmails);
        allowedGroups = allowedGroups == null ? Set.of() : Set.copyOf(allowedGroups);
    }

    /** Settings that admit only the allow lists' users. */
    public OidcSettings(URI issuer, String clientId, String clientSecret, URI redirectUrl, Set<String> allowedEmails,
                        Set<String> allowedGroups) {
        this(issuer, clientId, clientSecret, redirectUrl, allowedEmails, allowedGroups, false);
    }

    /** The path the provider sends the browser back to, taken from the redirect URL. */
    public String callbackPath() {
        String path = redirectUrl.getRawPath();
        return path == null || path.isEmpty() ? "/" : path;
    }
}
