package io.picotunnel.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.protocol.text.ControlCharacters;
import io.picotunnel.server.access.AccessPolicy;
import io.picotunnel.server.access.Cidr;
import io.picotunnel.server.access.IpRules;
import io.picotunnel.server.access.RateLimit;
import io.picotunnel.server.access.ServiceAuth;
import io.picotunnel.server.access.UnicodeNames;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.TlsMode;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The access fields of a service in the API: {@code auth}, {@code ip_allow}, {@code ip_deny}, {@code rate_limit}.
 * Read from a request body onto the stored policy ({@link #apply}), then checked against the kind of service
 * ({@link #check}). A basic-auth password is hashed here and goes nowhere else.
 */
final class AccessInput {

    static final Set<String> FIELDS = Set.of("auth", "ip_allow", "ip_deny", "rate_limit");
    private static final int MAX_NAME = 256;
    private static final int MAX_LIST = 256;

    private AccessInput() {
    }

    /**
     * {@code base} with the access fields present in {@code body} changed; null goes back to the default. A password
     * is hashed through {@code hashes}.
     */
    static AccessPolicy apply(AccessPolicy base, JsonBody body, PasswordHashes hashes) {
        AccessPolicy policy = base;
        if (body.has("ip_allow") || body.has("ip_deny")) {
            List<Cidr> allow = body.has("ip_allow") ? cidrs("ip_allow", body.node("ip_allow")) : base.ipRules().allow();
            List<Cidr> deny = body.has("ip_deny") ? cidrs("ip_deny", body.node("ip_deny")) : base.ipRules().deny();
            policy = policy.withIpRules(new IpRules(allow, deny));
        }
        if (body.has("rate_limit")) {
            policy = policy.withRateLimit(rateLimit(body.node("rate_limit")));
        }
        if (body.has("auth")) {
            policy = policy.withAuth(auth(body.node("auth"), base.auth(), hashes));
        }
        return policy;
    }

    /** Refuses what the kind of service cannot enforce, with a 400 naming the field. */
    static AccessPolicy check(Service service, AccessPolicy policy, boolean oidcAvailable) {
        boolean passthrough = service.type() == ServiceType.HTTP && service.tlsMode() == TlsMode.PASSTHROUGH;
        if (service.type() == ServiceType.TCP && !(policy.auth() instanceof ServiceAuth.None)) {
            throw ApiError.invalidField("auth", "applies to http services only; a tcp service can use ip_allow, ip_deny"
                    + " and rate_limit");
        }
        if (passthrough && !(policy.auth() instanceof ServiceAuth.None)) {
            throw ApiError.invalidField("auth", "cannot be used with tls_mode \"passthrough\": the server does not see"
                    + " inside the TLS connection; use ip_allow and rate_limit, or tls_mode \"terminate\"");
        }
        if (passthrough && !policy.ipRules().deny().isEmpty()) {
            throw ApiError.invalidField("ip_deny", "cannot be used with tls_mode \"passthrough\", which takes only ip_allow"
                    + " and rate_limit; list the addresses to let in under ip_allow instead");
        }
        if (policy.auth() instanceof ServiceAuth.Oidc && !oidcAvailable) {
            throw ApiError.invalidField("auth", "type \"oidc\" signs visitors in through the server's OIDC provider,"
                    + " which is not configured; set PICOTUNNEL_OIDC_ISSUER (and the other PICOTUNNEL_OIDC_* settings) first");
        }
        return policy;
    }

    private static List<Cidr> cidrs(String field, JsonNode node) {
        if (node == null || node.isNull()) {
            return List.of();
        }
        if (!node.isArray()) {
            throw ApiError.invalidField(field, "must be a list of address blocks such as [\"10.0.0.0/8\", \"2001:db8::/32\"]");
        }
        if (node.size() > IpRules.MAX_ENTRIES) {
            throw ApiError.invalidField(field, "has more than " + IpRules.MAX_ENTRIES + " entries");
        }
        Set<Cidr> cidrs = new LinkedHashSet<>();
        for (JsonNode entry : node) {
            if (!entry.isTextual()) {
                throw ApiError.invalidField(field, "entries must be strings such as \"192.0.2.0/24\"");
            }
            try {
                cidrs.add(Cidr.parse(entry.asText()));
            } catch (IllegalArgumentException e) {
                throw ApiError.invalidField(field, e.getMessage());
            }
        }
        return new ArrayList<>(cidrs);
    }

    private static RateLimit rateLimit(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isObject()) {
            throw ApiError.invalidField("rate_limit", "must be {\"per_second\": N, \"burst\": M} or null");
        }
        onlyFields("rate_limit", node, Set.of("per_second", "burst"));
        JsonNode perSecond = node.get("per_second");
        if (perSecond == null || perSecond.isNull() || !perSecond.isNumber() || !(perSecond.asDouble() > 0)
                || perSecond.asDouble() > RateLimit.MAX_PER_SECOND) {
            String wrong = perSecond == null || perSecond.isNull() ? "per_second is required" : "per_second " + perSecond
                    + " is refused";
            throw ApiError.invalidField("rate_limit", wrong + ": it must be a number above 0 and at most "
                    + (long) RateLimit.MAX_PER_SECOND + " (requests or connections per second per visitor address)");
        }
        JsonNode burst = node.get("burst");
        int burstValue;
        if (burst == null || burst.isNull()) {
            burstValue = (int) Math.max(1, Math.ceil(perSecond.asDouble()));
        } else if (!burst.isIntegralNumber() || !burst.canConvertToInt() || burst.asInt() < 1
                || burst.asInt() > RateLimit.MAX_BURST) {
            throw ApiError.invalidField("rate_limit", "burst must be a whole number from 1 to " + RateLimit.MAX_BURST);
        } else {
            burstValue = burst.asInt();
        }
        return new RateLimit(perSecond.asDouble(), burstValue);
    }

    private static ServiceAuth auth(JsonNode node, ServiceAuth stored, PasswordHashes hashes) {
        if (node == null || node.isNull()) {
            return ServiceAuth.NONE;
        }
        if (!node.isObject()) {
            throw ApiError.invalidField("auth", "must be an object such as {\"type\": \"basic\", \"username\": \"...\","
                    + " \"password\": \"...\"}");
        }
        JsonNode type = node.get("type");
        String typeText = type == null || !type.isTextual() ? null : type.asText();
        if (typeText == null) {
            throw ApiError.invalidField("auth", "type is required: \"none\", \"basic\" or \"oidc\"");
        }
        return switch (typeText) {
            case "none" -> {
                onlyFields("auth", node, Set.of("type"));
                yield ServiceAuth.NONE;
            }
            case "basic" -> basic(node, stored, hashes);
            case "oidc" -> oidc(node);
            default -> throw ApiError.invalidField("auth", "unknown type " + ControlCharacters.quoted(typeText)
                    + "; expected \"none\", \"basic\" or \"oidc\"");
        };
    }

    /**
     * Who may sign in: listed emails or groups, or, only when the request says {@code "allow_all": true}, every user
     * of the provider. Empty lists without it would quietly publish the service to anyone with an account at the
     * provider (with Google or GitHub, anyone at all), as {@code PICOTUNNEL_OIDC_ALLOW_ALL} guards the UI's sign-in.
     */
    private static ServiceAuth oidc(JsonNode node) {
        onlyFields("auth", node, Set.of("type", "allowed_emails", "allowed_groups", "allow_all"));
        Set<String> emails = names(node.get("allowed_emails"), "allowed_emails", true);
        Set<String> groups = names(node.get("allowed_groups"), "allowed_groups", false);
        JsonNode allowAll = node.get("allow_all");
        if (allowAll != null && !allowAll.isNull() && !allowAll.isBoolean()) {
            throw ApiError.invalidField("auth", "allow_all must be true or false");
        }
        boolean all = allowAll != null && allowAll.asBoolean(false);
        if (all && !(emails.isEmpty() && groups.isEmpty())) {
            throw ApiError.invalidField("auth", "allow_all lets every user of the identity provider in, so it cannot be"
                    + " combined with allowed_emails or allowed_groups; keep the lists, or empty them and keep allow_all");
        }
        if (!all && emails.isEmpty() && groups.isEmpty()) {
            throw ApiError.invalidField("auth", "type \"oidc\" needs allowed_emails or allowed_groups: with both empty,"
                    + " every user of the identity provider could sign in (with Google or GitHub, anyone with an account);"
                    + " list who may sign in, or, if that is what you want, set \"allow_all\": true");
        }
        return new ServiceAuth.Oidc(emails, groups, all);
    }

    private static ServiceAuth basic(JsonNode node, ServiceAuth stored, PasswordHashes hashes) {
        onlyFields("auth", node, Set.of("type", "username", "password"));
        JsonNode username = node.get("username");
        if (username == null || !username.isTextual() || username.asText().isEmpty()) {
            throw ApiError.invalidField("auth", "username is required for type \"basic\"");
        }
        String name = username.asText();
        if (name.length() > MAX_NAME || name.contains(":") || name.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
            throw ApiError.invalidField("auth", "username must be at most " + MAX_NAME
                    + " characters without ':' or control characters");
        }
        HiddenCharacters.first(name).ifPresent(c -> {
            throw ApiError.invalidField("auth", "username must not contain the " + HiddenCharacters.describe(c));
        });
        name = UnicodeNames.composed(name);
        JsonNode password = node.get("password");
        if (password == null || password.isNull()) {
            if (stored instanceof ServiceAuth.Basic kept) {
                // The password is never sent back, so an edit that leaves it out keeps the one stored.
                return new ServiceAuth.Basic(name, kept.passwordHash());
            }
            throw ApiError.invalidField("auth", "password is required for type \"basic\"");
        }
        if (!password.isTextual() || password.asText().length() < 8) {
            throw ApiError.invalidField("auth", "password must be a string of at least 8 characters");
        }
        if (password.asText().chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
            throw ApiError.invalidField("auth", "password must not contain control characters");
        }
        try {
            return new ServiceAuth.Basic(name, hashes.hash(password.asText()));
        } catch (IllegalArgumentException e) {
            throw ApiError.invalidField("auth", "password " + e.getMessage());
        }
    }

    private static Set<String> names(JsonNode node, String field, boolean emails) {
        if (node == null || node.isNull()) {
            return Set.of();
        }
        if (!node.isArray() || node.size() > MAX_LIST) {
            throw ApiError.invalidField("auth", field + " must be a list of at most " + MAX_LIST + " strings");
        }
        Set<String> names = new LinkedHashSet<>();
        for (JsonNode entry : node) {
            String value = entry.isTextual() ? entry.asText().strip() : "";
            HiddenCharacters.first(value).ifPresent(c -> {
                throw ApiError.invalidField("auth", field + ": an entry contains the " + HiddenCharacters.describe(c));
            });
            if (value.isEmpty() || value.length() > MAX_NAME || value.chars().anyMatch(c -> c < 0x20 || c == 0x7f)
                    || (emails && !value.matches("[^@\\s]+@[^@\\s]+"))) {
                throw ApiError.invalidField("auth", field + ": " + ControlCharacters.quoted(entry.asText()) + " is not "
                        + (emails ? "an email address" : "a group name"));
            }
            names.add(emails ? value.toLowerCase(Locale.ROOT) : value);
        }
        return names;
    }

    private static void onlyFields(String field, JsonNode node, Set<String> known) {
        for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!known.contains(name)) {
                throw ApiError.invalidField(field, "unknown field " + ControlCharacters.quoted(name) + "; known here: "
                        + String.join(", ", known.stream().sorted().toList()));
            }
        }
    }
}
