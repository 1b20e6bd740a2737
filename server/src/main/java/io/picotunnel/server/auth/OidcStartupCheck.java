package io.picotunnel.server.auth;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * What the server says at start about its OIDC sign-in: the provider, the client, the callback the provider must allow
 * and who may sign in; then, in the background, whether the provider answers its discovery. The start does not wait
 * for it (the provider may be down and come back), but a mistyped issuer or an unreachable provider shows in the log at
 * once rather than at the first sign-in.
 */
final class OidcStartupCheck {

    private static final Logger log = LoggerFactory.getLogger(OidcStartupCheck.class);

    private OidcStartupCheck() {
    }

    static void run(OidcProvider provider) {
        OidcSettings settings = provider.settings();
        log.info("OIDC sign-in for the web UI through {} as client {} ({}); the provider must allow the redirect URI {};"
                        + " who may sign in: {}", settings.issuer(), settings.clientId(),
                settings.clientSecret() == null ? "no client secret: a public client, PKCE only" : "with its client secret",
                settings.redirectUrl(), whoMaySignIn(settings));
        Thread.ofVirtual().name("oidc-startup-check").start(() -> {
            try {
                provider.discovered();
                log.info("OIDC provider {} answered its discovery: sign-in is ready", settings.issuer());
            } catch (SignInRejectedException e) {
                log.warn("OIDC sign-in cannot work yet: {} The server runs; each sign-in asks the provider again.",
                        e.withCause());
            } catch (RuntimeException e) {
                log.warn("OIDC sign-in cannot work yet: the provider's discovery failed ({}). The server runs; each"
                        + " sign-in asks the provider again.", ManagementAuth.describe(e));
            }
        });
    }

    private static String whoMaySignIn(OidcSettings settings) {
        if (settings.allowAll()) {
            return "every user of the provider (PICOTUNNEL_OIDC_ALLOW_ALL)";
        }
        List<String> who = new ArrayList<>();
        if (!settings.allowedEmails().isEmpty()) {
            who.add("the verified emails " + String.join(", ", new TreeSet<>(settings.allowedEmails())));
        }
        if (!settings.allowedGroups().isEmpty()) {
            who.add("the groups " + String.join(", ", new TreeSet<>(settings.allowedGroups())));
        }
        return String.join(" and ", who);
    }
}
