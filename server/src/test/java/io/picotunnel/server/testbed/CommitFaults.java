package io.picotunnel.server.testbed;

import io.picotunnel.server.store.Store;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;

/** Commits of a running server's store made to fail, through its SQLite file. */
public final class CommitFaults {

    private CommitFaults() {
    }

    /**
     * Makes every commit fail that ran one of {@code triggers} (such as {@code AFTER DELETE ON services}) on the
     * database in {@code dataDir}: a deferred foreign key it breaks, added by another connection.
     */
    public static void failEveryCommitThat(Path dataDir, String... triggers) throws SQLException {
        try (Connection other = DriverManager.getConnection("jdbc:sqlite:" + dataDir.resolve(Store.DATABASE_FILE));
             Statement statement = other.createStatement()) {
            statement.executeUpdate("CREATE TABLE fault (service_id TEXT"
                    + " REFERENCES services (id) DEFERRABLE INITIALLY DEFERRED)");
            for (int i = 0; i < triggers.length; i++) {
                statement.executeUpdate("CREATE TRIGGER fault" + i + " " + triggers[i]
                        + " BEGIN INSERT INTO fault VALUES ('none'); END");
            }
        }
    }
}
