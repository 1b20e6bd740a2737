package io.picotunnel.server.store;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A write that fails with SQLITE_FULL (here forced by {@code PRAGMA max_page_count} on the write connection, as a full
 * disk would) makes SQLite roll the whole transaction back itself when the statement has no statement journal (a
 * one-row insert): the writes after it must work once there is room.
 */
class DiskFullTest {

    @TempDir
    Path dir;
    Database database;

    @BeforeEach
    void open() {
        database = Database.open(dir.resolve("picotunnel.db"));
        database.inTransaction(c -> execute(c, "CREATE TABLE filler (data BLOB NOT NULL)"));
    }

    @AfterEach
    void close() {
        database.close();
    }

    private static int execute(Connection connection, String sql) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            return statement.executeUpdate(sql);
        }
    }

    private static long pageCount(Connection connection) throws SQLException {
        try (Statement statement = connection.createStatement();
             ResultSet result = statement.executeQuery("PRAGMA page_count")) {
            return result.getLong(1);
        }
    }

    @Test
    void aWriteThatFillsTheDiskFailsAndTheWritesAfterItWorkOnceThereIsRoom() {
        database.inTransaction(c -> execute(c, "PRAGMA max_page_count = " + pageCount(c)));

        assertThatThrownBy(() -> database.inTransaction(c -> execute(c,
                "INSERT INTO filler (data) VALUES (randomblob(2000000))")))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("full");

        database.inTransaction(c -> execute(c, "PRAGMA max_page_count = 1073741823"));
        database.inTransaction(c -> execute(c, "INSERT INTO filler (data) VALUES (x'01')"));
        int rows = database.read(c -> {
            try (Statement statement = c.createStatement();
                 ResultSet result = statement.executeQuery("SELECT count(*) FROM filler")) {
                return result.getInt(1);
            }
        });
        assertThat(rows).isEqualTo(1);
    }
}
