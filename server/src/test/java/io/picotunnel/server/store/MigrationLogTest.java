package io.picotunnel.server.store;

import ch.qos.logback.classic.Level;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** A new data directory's migrations are one INFO line; each step is at DEBUG. It logged a line per migration. */
class MigrationLogTest {

    @TempDir
    Path dir;

    @Test
    void aNewDatabaseLogsItsMigrationsAsOneInfoLineAndEachStepAtDebug() {
        List<Migrations.Migration> available = Migrations.available();
        try (LogCapture log = new LogCapture(Migrations.class, Level.DEBUG);
             Database database = Database.open(dir.resolve("picotunnel.db"))) {
            assertThat(database.file()).exists();
            assertThat(log.messages(Level.INFO)).containsExactly("Database migrated from version 0 to "
                    + available.getLast().version() + " (" + available.size() + " migrations)");
            assertThat(log.messages(Level.DEBUG)).hasSize(available.size())
                    .allMatch(message -> message.startsWith("Database migrated to version "));
        }
    }

    @Test
    void aDatabaseAlreadyUpToDateLogsNoMigration() {
        Path file = dir.resolve("picotunnel.db");
        Database.open(file).close();
        try (LogCapture log = new LogCapture(Migrations.class, Level.DEBUG); Database database = Database.open(file)) {
            assertThat(database.file()).isEqualTo(file);
            assertThat(log.messages(Level.INFO)).isEmpty();
            assertThat(log.messages(Level.DEBUG)).isEmpty();
        }
    }
}
