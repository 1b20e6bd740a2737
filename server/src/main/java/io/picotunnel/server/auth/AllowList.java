package io.picotunnel.server.auth;

import com.nimbusds.openid.connect.sdk.claims.IDTokenClaimsSet;

import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Who may sign in through the provider: everyone when no allow list is set, else a user whose verified
 * email is on {@code PICOTUNNEL_OIDC_ALLOWED_EMAILS} or who is in a group of {@code PICOTUNNEL_OIDC_ALLOWED_GROUPS}.
 */
final class AllowList {

    private final Set<String> emails;
    private final Set<String> groups;

    AllowList(Set<String> emails, Set<String> groups) {
        this.emails = emails.stream().map(e -> e.trim().toLowerCase(Locale.ROOT)).collect(Collectors.toUnmodifiableSet());
        this.groups = Set.copyOf(groups);
    }

    /** The name the session shows (email, else preferred_username, else the subject) if the user may enter. */
    Optional<String> admit(IDTokenClaimsSet claims) {
        String email = claims.getStringClaim("email");
        Boolean verified = claims.getBooleanClaim("email_verified");
        boolean emailUsable = email != null && !Boolean.FALSE.equals(verified);
        boolean open = emails.isEmpty() && groups.isEmpty();
        boolean emailAllowed = emailUsable && emails.contains(email.toLowerCase(Locale.ROOT));
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
