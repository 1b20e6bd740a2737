package io.picotunnel.server.auth;

import com.nimbusds.openid.connect.sdk.claims.IDTokenClaimsSet;
import io.picotunnel.protocol.text.ControlCharacters;
import io.picotunnel.server.access.UnicodeNames;

import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Who may sign in through the provider: a user whose email is on {@code PICOTUNNEL_OIDC_ALLOWED_EMAILS} and
 * verified ({@code email_verified} is {@code true}; missing counts as not verified), or who is in a group of
 * {@code PICOTUNNEL_OIDC_ALLOWED_GROUPS}. With both lists empty, nobody, unless {@code allowAll}
 * ({@code PICOTUNNEL_OIDC_ALLOW_ALL=true}) lets every user of the provider in.
 */
final class AllowList {

    private final Set<String> emails;
    private final Set<String> groups;
    private final boolean allowAll;

    AllowList(Set<String> emails, Set<String> groups, boolean allowAll) {
        this.emails = emails.stream().map(e -> UnicodeNames.comparableEmail(e.trim())).collect(Collectors.toUnmodifiableSet());
        this.groups = Set.copyOf(groups);
        this.allowAll = allowAll;
    }

    /** The name the session shows (email, else preferred_username, else the subject) if the user may enter. */
    Optional<String> admit(IDTokenClaimsSet claims) {
        String email = claims.getStringClaim("email");
        boolean emailUsable = email != null && OidcProvider.emailVerified(claims);
        boolean open = allowAll;
        boolean emailAllowed = emailUsable && emails.contains(UnicodeNames.comparableEmail(email));
        boolean groupAllowed = groupsOf(claims).stream().anyMatch(groups::contains);
        if (!open && !emailAllowed && !groupAllowed) {
            return Optional.empty();
        }
        if (emailUsable) {
            return Optional.of(email);
        }
        String username = claims.getStringClaim("preferred_username");
        return Optional.of(username != null ? username : claims.getSubject().getValue());
    }

    /**
     * Whether a user {@link #admit} refused has an email on the list that the provider does not say is verified: the
     * one refusal the operator cannot tell from the list alone (a provider that sends no {@code email_verified}).
     */
    boolean listsUnverifiedEmail(IDTokenClaimsSet claims) {
        String email = claims.getStringClaim("email");
        return email != null && !OidcProvider.emailVerified(claims) && emails.contains(UnicodeNames.comparableEmail(email));
    }

    /**
     * What the refused user's token offered the allow list, for the log: the email and whether it is verified, and the
     * groups (Keycloak, say, sends "/admins" for the group admins unless told otherwise), so that the operator sees
     * what to list.
     */
    static String offered(IDTokenClaimsSet claims) {
        String email = claims.getStringClaim("email");
        List<String> groups = groupsOf(claims);
        return (email == null ? "no email" : "the email " + ControlCharacters.bounded(email)
                + (OidcProvider.emailVerified(claims) ? "" : " (not verified)"))
                + " and " + (groups.isEmpty() ? "no groups" : "the groups " + ControlCharacters.bounded(String.join(", ", groups)));
    }

    private static List<String> groupsOf(IDTokenClaimsSet claims) {
        Object value = claims.getClaim("groups");
        if (value instanceof List<?> list) {
            return list.stream().filter(String.class::isInstance).map(String.class::cast).toList();
        }
        if (value instanceof String single) {
            return List.of(single);
        }
        return List.of();
    }
}
