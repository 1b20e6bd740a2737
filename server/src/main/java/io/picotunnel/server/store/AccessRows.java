package io.picotunnel.server.store;

import io.picotunnel.server.access.AccessPolicy;
import io.picotunnel.server.access.Cidr;
import io.picotunnel.server.access.IpRules;
import io.picotunnel.server.access.RateLimit;
import io.picotunnel.server.access.ServiceAuth;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The access columns of the {@code services} table (migrations V40, V43): lists one entry per line, the basic-auth
 * password as its bcrypt hash only.
 */
final class AccessRows {

    static final String COLUMNS = "ip_allow, ip_deny, rate_limit_per_second, rate_limit_burst, auth_type, auth_username,"
            + " auth_password_hash, auth_allowed_emails, auth_allowed_groups, auth_allow_all";

    private AccessRows() {
    }

    static AccessPolicy read(ResultSet rows) throws SQLException {
        IpRules ip = new IpRules(cidrs(rows.getString("ip_allow")), cidrs(rows.getString("ip_deny")));
        double perSecond = rows.getDouble("rate_limit_per_second");
        RateLimit rate = rows.wasNull() ? null : new RateLimit(perSecond, rows.getInt("rate_limit_burst"));
        ServiceAuth auth = switch (rows.getString("auth_type")) {
            case "basic" -> new ServiceAuth.Basic(rows.getString("auth_username"), rows.getString("auth_password_hash"));
            case "oidc" -> new ServiceAuth.Oidc(Set.copyOf(lines(rows.getString("auth_allowed_emails"))),
                    Set.copyOf(lines(rows.getString("auth_allowed_groups"))), rows.getInt("auth_allow_all") != 0);
            default -> ServiceAuth.NONE;
        };
        return new AccessPolicy(auth, ip, rate);
    }

    static void write(Connection connection, String serviceId, AccessPolicy access) throws SQLException {
        try (PreparedStatement update = connection.prepareStatement("UPDATE services SET ip_allow = ?, ip_deny = ?,"
                + " rate_limit_per_second = ?, rate_limit_burst = ?, auth_type = ?, auth_username = ?,"
                + " auth_password_hash = ?, auth_allowed_emails = ?, auth_allowed_groups = ?, auth_allow_all = ?"
                + " WHERE id = ?")) {
            update.setString(1, join(access.ipRules().allow()));
            update.setString(2, join(access.ipRules().deny()));
            if (access.rateLimit() == null) {
                update.setNull(3, Types.REAL);
                update.setNull(4, Types.INTEGER);
            } else {
                update.setDouble(3, access.rateLimit().perSecond());
                update.setInt(4, access.rateLimit().burst());
            }
            update.setString(5, access.auth().type());
            update.setString(6, access.auth() instanceof ServiceAuth.Basic b ? b.username() : null);
            update.setString(7, access.auth() instanceof ServiceAuth.Basic b ? b.passwordHash() : null);
            update.setString(8, access.auth() instanceof ServiceAuth.Oidc o ? join(o.allowedEmails().stream().sorted().toList()) : "");
            update.setString(9, access.auth() instanceof ServiceAuth.Oidc o ? join(o.allowedGroups().stream().sorted().toList()) : "");
            update.setInt(10, access.auth() instanceof ServiceAuth.Oidc o && o.allowAll() ? 1 : 0);
            update.setString(11, serviceId);
            update.executeUpdate();
        }
    }

    private static String join(Collection<?> items) {
        return items.stream().map(Object::toString).collect(Collectors.joining("\n"));
    }

    private static List<String> lines(String text) {
        return text == null || text.isEmpty() ? List.of() : Arrays.stream(text.split("\n")).filter(l -> !l.isEmpty()).toList();
    }

    private static List<Cidr> cidrs(String text) {
        return lines(text).stream().map(Cidr::parse).toList();
    }
}
