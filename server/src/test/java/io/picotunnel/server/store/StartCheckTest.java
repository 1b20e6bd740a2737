package io.picotunnel.server.store;

import ch.qos.logback.classic.Level;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The check of the whole file at start is announced with the file's size, so a slow start on a large file is explained. */
class StartCheckTest {

    @TempDir
    Path dir;

    @Test
    void openingAnExistingDatabaseSaysItIsCheckedAndHowLargeItIs() {
        Path file = dir.resolve("picotunnel.db");
        Database.open(file).close();
        try (LogCapture log = new LogCapture(Database.class, Level.INFO); Database database = Database.open(file)) {
            assertThat(database.file()).isEqualTo(file);
            assertThat(log.messages(Level.INFO)).anyMatch(message -> message.startsWith("Checking the database ")
                    && message.endsWith(" (0 MiB)…"));
        }
    }
}
