package io.picotunnel.server.store;

import io.picotunnel.server.auth.Secrets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Migration V25: a database written by a PicoTunnel that kept tunnel tokens in plain is converted in place. */
class TokenHashMigrationTest {

    private static final int HASH_ONLY_VERSION = 25;

    @TempDir
    Path dataDir;

    @Test
    void aPlainTokenFromTheOldSchemaStillAuthenticatesAndIsGoneFromTheFile() throws Exception {
        String token = Secrets.newToken();
        Path file = dataDir.resolve(Store.DATABASE_FILE);
        writeOldSchemaDatabase(file, token);
        assertThat(columns(file)).contains("token");

        try (Store store = Store.open(dataDir)) {
            Tunnel found = store.findTunnelByToken(token).orElseThrow();
            assertThat(found.id()).isEqualTo("0123456789abcdef");
            assertThat(found.name()).isEqualTo("home");
            assertThat(found.token()).isNull();
            assertThat(store.findTunnelByToken("f".repeat(64))).isEmpty();
        }

        assertThat(columns(file)).doesNotContain("token").contains("token_sha256");
        assertThat(new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1)).doesNotContain(token);
    }

    /** The database as the last version before V25 left it: every migration below V25, and one tunnel with its token. */
    private static void writeOldSchemaDatabase(Path file, String token) throws SQLException {
        OldSchema.write(file.getParent(), HASH_ONLY_VERSION, c -> {
            try (PreparedStatement insert = c.prepareStatement("INSERT INTO tunnels (id, name, token, token_sha256, created_at, updated_at)"
                    + " VALUES ('0123456789abcdef', 'home', ?, ?, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')")) {
                insert.setString(1, token);
                insert.setString(2, Secrets.sha256Hex(token));
                insert.executeUpdate();
            }
        });
    }

    private static List<String> columns(Path file) throws SQLException {
        List<String> names = new ArrayList<>();
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement();
             ResultSet rows = s.executeQuery("SELECT name FROM pragma_table_info('tunnels')")) {
            while (rows.next()) {
                names.add(rows.getString(1));
            }
        }
        return names;
    }
}
