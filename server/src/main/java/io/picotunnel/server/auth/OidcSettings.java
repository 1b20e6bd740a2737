package io.picotunnel.server.auth;

import java.net.URI;
import java.util.Objects;
import java.util.Set;

/**
 * The OpenID Connect provider the management UI signs in with ({@code PICOTUNNEL_OIDC_*}). Empty allow lists
 * let every user of the provider in; otherwise a user needs an allowed email or an allowed group. Without a
 * client secret the server signs in as a public client (PKCE only).
 */
public record OidcSettings(
        URI issuer,
        String clientId,
        String clientSecret,
        URI redirectUrl,
        Set<String> allowedEmails,
        Set<String> allowedGroups) {

    public OidcSettings {
        Objects.requireNonNull(issuer, "issuer");
        Objects.requireNonNull(clientId, "clientId");
        Objects.requireNonNull(redirectUrl, "redirectUrl");
        allowedEmails = allowedEmails == null ? Set.of() : Set.copyOf(allowedEmails);
        allowedGroups = allowedGroups == null ? Set.of() : Set.copyOf(allowedGroups);
    }

    /** The path the provider sends the browser back to, taken from the redirect URL. */
    public String callbackPath() {
        String path = redirectUrl.getRawPath();
        return path == null || path.isEmpty() ? "/" : path;
    }
}
