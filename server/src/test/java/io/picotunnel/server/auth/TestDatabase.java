package io.picotunnel.server.auth;

import org.sqlite.SQLiteDataSource;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;

/** A SQLite file with the sessions table of migration V2, as the server's store creates it. */
final class TestDatabase {

    private TestDatabase() {
    }

    static SQLiteDataSource withSessionsTable(Path file) throws Exception {
        SQLiteDataSource db = new SQLiteDataSource();
        db.setUrl("jdbc:sqlite:" + file);
        String sql;
        try (InputStream in = TestDatabase.class.getResourceAsStream("/db/migration/V2__sessions.sql")) {
            sql = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        try (Connection c = db.getConnection(); Statement s = c.createStatement()) {
            for (String statement : sql.replaceAll("(?m)^--.*$", "").split(";")) {
                if (!statement.isBlank()) {
                    s.execute(statement);
                }
            }
        }
        return db;
    }
}
