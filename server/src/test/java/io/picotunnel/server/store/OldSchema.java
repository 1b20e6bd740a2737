package io.picotunnel.server.store;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * A database file as an older PicoTunnel left it, for the tests of a migration: every migration below a version
 * applied and recorded, then rows written in that schema. Opening the directory afterwards runs the rest.
 */
public final class OldSchema {

    /** Rows to write into the old schema. */
    @FunctionalInterface
    public interface Rows {
        void write(Connection connection) throws SQLException;
    }

    private OldSchema() {
    }

    /** Creates {@code dataDir}'s database with the migrations below {@code version}, then {@code rows}. */
    public static Path write(Path dataDir, int version, Rows rows) throws SQLException {
        Path file = dataDir.resolve(Store.DATABASE_FILE);
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            s.executeUpdate("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
            for (Migrations.Migration m : Migrations.available()) {
                if (m.version() >= version) {
                    continue;
                }
                for (String statement : Migrations.statements(read(m.resource()))) {
                    s.executeUpdate(statement);
                }
                s.executeUpdate("INSERT INTO schema_version VALUES (" + m.version() + ", '" + m.name() + "', '2026-01-01T00:00:00.000Z')");
            }
            rows.write(c);
        }
        return file;
    }

    /** A tunnel row as the schemas since V25 store it (the token's SHA-256 only), created and updated 2026-01-01. */
    public static void tunnel(Connection c, String id, String name, String tokenSha256) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.executeUpdate("INSERT INTO tunnels (id, name, token_sha256, created_at, updated_at) VALUES ('" + id
                    + "', '" + name + "', '" + tokenSha256 + "', '2026-01-01T00:00:00.000Z', "
                    + "'2026-01-01T00:00:00.000Z')");
        }
    }

    private static String read(String resource) {
        try (InputStream in = OldSchema.class.getClassLoader().getResourceAsStream(resource)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
