package io.picotunnel.server.access;

import java.util.Objects;

/**
 * What stands in front of one service: its sign-in ({@code auth}), its address lists ({@code ip_allow},
 * {@code ip_deny}) and its {@code rate_limit} (null: none). Checked in that order: addresses, rate, sign-in.
 */
public record AccessPolicy(ServiceAuth auth, IpRules ipRules, RateLimit rateLimit) {

    /** No restriction: the default of every service. */
    public static final AccessPolicy OPEN = new AccessPolicy(ServiceAuth.NONE, IpRules.OPEN, null);

    public AccessPolicy {
        Objects.requireNonNull(auth, "auth");
        Objects.requireNonNull(ipRules, "ipRules");
    }

    public AccessPolicy withAuth(ServiceAuth next) {
        return new AccessPolicy(next, ipRules, rateLimit);
    }

    public AccessPolicy withIpRules(IpRules next) {
        return new AccessPolicy(auth, next, rateLimit);
    }

    public AccessPolicy withRateLimit(RateLimit next) {
        return new AccessPolicy(auth, ipRules, next);
    }
}
