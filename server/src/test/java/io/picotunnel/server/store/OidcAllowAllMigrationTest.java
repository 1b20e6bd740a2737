package io.picotunnel.server.store;

import io.picotunnel.server.access.ServiceAuth;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Migration V43: services stored when empty allow lists meant "every user of the provider" keep meaning it
 * ({@code allow_all} set), so an upgrade locks nobody out; every other service gets {@code allow_all} off.
 */
class OidcAllowAllMigrationTest {

    private static final int ALLOW_ALL_VERSION = 43;
    private static final String TUNNEL_ID = "0123456789abcdef";

    @TempDir
    Path dataDir;

    @Test
    void oidcServicesWithEmptyListsFromBeforeKeepLettingEveryoneInAndOthersDoNot() throws Exception {
        OldSchema.write(dataDir, ALLOW_ALL_VERSION, c -> {
            OldSchema.tunnel(c, TUNNEL_ID, "old", "f".repeat(64));
            oidcService(c, "0000000000000001", "open.example.com", "", "");
            oidcService(c, "0000000000000002", "listed.example.com", "alice@example.com\nbob@example.com", "");
            oidcService(c, "0000000000000003", "grouped.example.com", "", "staff");
            try (Statement s = c.createStatement()) {
                s.executeUpdate("INSERT INTO services (id, tunnel_id, type, domain, target_addr, created_at)"
                        + " VALUES ('0000000000000004', '" + TUNNEL_ID + "', 'http', 'plain.example.com', 'localhost:1',"
                        + " '2026-01-01T00:00:00.000Z')");
            }
        });

        try (Store store = Store.open(dataDir)) {
            assertThat(auth(store, "0000000000000001")).isEqualTo(new ServiceAuth.Oidc(Set.of(), Set.of(), true));
            assertThat(auth(store, "0000000000000002"))
                    .isEqualTo(new ServiceAuth.Oidc(Set.of("alice@example.com", "bob@example.com"), Set.of(), false));
            assertThat(auth(store, "0000000000000003")).isEqualTo(new ServiceAuth.Oidc(Set.of(), Set.of("staff"), false));
            assertThat(auth(store, "0000000000000004")).isEqualTo(ServiceAuth.NONE);
        }
    }

    private static ServiceAuth auth(Store store, String serviceId) {
        return store.service(serviceId).orElseThrow().access().auth();
    }

    /** An http service signing in through OIDC as the schema before V43 stored it: lists one entry per line. */
    private static void oidcService(Connection c, String id, String domain, String emails, String groups)
            throws SQLException {
        try (PreparedStatement insert = c.prepareStatement("INSERT INTO services (id, tunnel_id, type, domain,"
                + " target_addr, created_at, auth_type, auth_allowed_emails, auth_allowed_groups)"
                + " VALUES (?, ?, 'http', ?, 'localhost:1', '2026-01-01T00:00:00.000Z', 'oidc', ?, ?)")) {
            insert.setString(1, id);
            insert.setString(2, TUNNEL_ID);
            insert.setString(3, domain);
            insert.setString(4, emails);
            insert.setString(5, groups);
            insert.executeUpdate();
        }
    }
}
