package io.picotunnel.server.auth;

import io.picotunnel.server.access.TrustedProxies;

import java.util.Optional;

/**
 * How the management port authenticates. {@code adminToken} is the Bearer token of the API (and of the
 * sign-in form when there is no OIDC provider); {@code disabled} is the explicit {@code PICOTUNNEL_AUTH=none}
 * opt-out; {@code domain} ({@code PICOTUNNEL_DOMAIN}) is one of the Host headers the port answers with
 * authentication off; {@code trustedProxies} ({@code --trusted-proxies}) are the front proxies whose
 * {@code X-Forwarded-For} names who a request comes from, for the limits on failed sign-ins.
 */
public record AuthSettings(String adminToken, OidcSettings oidc, boolean disabled, String domain,
        TrustedProxies trustedProxies) {

    public AuthSettings {
        if (!disabled && (adminToken == null || adminToken.isEmpty()) && oidc == null) {
            throw new IllegalArgumentException("the management port needs an admin token or an OIDC provider");
        }
        trustedProxies = trustedProxies == null ? TrustedProxies.NONE : trustedProxies;
    }

    public AuthSettings(String adminToken, OidcSettings oidc, boolean disabled, String domain) {
        this(adminToken, oidc, disabled, domain, TrustedProxies.NONE);
    }

    public Optional<OidcSettings> oidcSettings() {
        return Optional.ofNullable(oidc);
    }

    public Optional<String> adminTokenValue() {
        return adminToken == null || adminToken.isEmpty() ? Optional.empty() : Optional.of(adminToken);
    }

    /** What the sign-in page offers: {@code oidc}, {@code token} or, with auth disabled, {@code none}. */
    public String signInMethod() {
        if (disabled) {
            return "none";
        }
        return oidc != null ? "oidc" : "token";
    }
}
