package io.picotunnel.server.store;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A change made inside another change of the same thread (real SQLite): what it does outside the database once it is
 * stored waits for the outer change's commit, and is undone if the outer change fails.
 */
class JoinedTransactionTest {

    @TempDir
    Path dataDir;

    @Test
    void aJoinedChangesOnCommitRunsOnlyOnceTheOuterChangeIsCommitted() throws Exception {
        List<String> events = new ArrayList<>();
        try (Database database = Database.open(dataDir.resolve(Store.DATABASE_FILE))) {
            database.inTransaction(connection -> {
                createTable(connection);
                database.inTransaction(inner -> insert(inner, "joined"),
                        () -> events.add("joined stored, rows seen by another connection: " + rowsSeenElsewhere()),
                        () -> events.add("joined undone"));
                events.add("outer work done");
                return null;
            }, () -> events.add("outer stored"), () -> events.add("outer undone"));
        }

        assertThat(events).containsExactly("outer work done", "joined stored, rows seen by another connection: 1",
                "outer stored");
    }

    @Test
    void aJoinedChangeIsUndoneWhenTheOuterChangeFailsAfterItReturned() throws Exception {
        List<String> events = new ArrayList<>();
        try (Database database = Database.open(dataDir.resolve(Store.DATABASE_FILE))) {
            database.inTransaction(connection -> createTable(connection));

            assertThatThrownBy(() -> database.inTransaction(connection -> {
                database.inTransaction(inner -> insert(inner, "first"), () -> events.add("first stored"),
                        () -> events.add("first undone"));
                database.inTransaction(inner -> insert(inner, "second"), () -> events.add("second stored"),
                        () -> events.add("second undone"));
                throw new IllegalStateException("refused after the joined changes");
            }, () -> events.add("outer stored"), () -> events.add("outer undone")))
                    .hasMessage("refused after the joined changes");
        }

        assertThat(events).containsExactly("second undone", "first undone", "outer undone");
        assertThat(rowsSeenElsewhere()).isZero();
    }

    @Test
    void aJoinedChangeThatFailsIsUndoneAtOnceAndTheOuterChangeMayStillBeStored() throws Exception {
        List<String> events = new ArrayList<>();
        try (Database database = Database.open(dataDir.resolve(Store.DATABASE_FILE))) {
            database.inTransaction(connection -> {
                createTable(connection);
                try {
                    database.inTransaction(inner -> {
                        throw new IllegalArgumentException("joined refused");
                    }, () -> events.add("joined stored"), () -> events.add("joined undone"));
                } catch (IllegalArgumentException expected) {
                    events.add("outer saw: " + expected.getMessage());
                }
                return insert(connection, "outer");
            }, () -> events.add("outer stored"), () -> events.add("outer undone"));

            String after = database.inTransaction(connection -> "still usable");
            assertThat(after).isEqualTo("still usable");
        }

        assertThat(events).containsExactly("joined undone", "outer saw: joined refused", "outer stored");
        assertThat(rowsSeenElsewhere()).isOne();
    }

    @Test
    void aJoinedChangeWhoseOnCommitThrowsStillLetsTheOuterChangeFinishItsOwn() throws Exception {
        List<String> events = new ArrayList<>();
        try (Database database = Database.open(dataDir.resolve(Store.DATABASE_FILE))) {
            assertThatThrownBy(() -> database.inTransaction(connection -> {
                createTable(connection);
                database.inTransaction(inner -> insert(inner, "joined"), () -> {
                    throw new IllegalStateException("the joined change's listener failed");
                }, () -> events.add("joined undone"));
                return insert(connection, "outer");
            }, () -> events.add("outer stored"), () -> events.add("outer undone")))
                    .hasMessage("the joined change's listener failed");
        }

        assertThat(events).containsExactly("outer stored");
        assertThat(rowsSeenElsewhere()).isEqualTo(2);
    }

    private static Void createTable(Connection connection) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            statement.executeUpdate("CREATE TABLE IF NOT EXISTS joined_test (name TEXT)");
        }
        return null;
    }

    private static int insert(Connection connection, String name) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            return statement.executeUpdate("INSERT INTO joined_test VALUES ('" + name + "')");
        }
    }

    /** Rows another connection to the file sees: only what is committed. */
    private int rowsSeenElsewhere() {
        try (Connection other = DriverManager.getConnection("jdbc:sqlite:" + dataDir.resolve(Store.DATABASE_FILE));
             Statement statement = other.createStatement();
             ResultSet rows = statement.executeQuery("SELECT count(*) FROM joined_test")) {
            return rows.getInt(1);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}
