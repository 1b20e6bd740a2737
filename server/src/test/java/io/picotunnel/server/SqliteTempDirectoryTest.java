package io.picotunnel.server;

import ch.qos.logback.classic.Level;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** The directory of the server's own that sqlite-jdbc extracts its native library into, in this JVM. */
class SqliteTempDirectoryTest {

    @TempDir
    Path dir;

    private String propertyBefore;

    @BeforeEach
    void keepTheProperty() {
        propertyBefore = System.getProperty(SqliteTempDirectory.PROPERTY);
    }

    @AfterEach
    void restoreTheProperty() {
        if (propertyBefore == null) {
            System.clearProperty(SqliteTempDirectory.PROPERTY);
        } else {
            System.setProperty(SqliteTempDirectory.PROPERTY, propertyBefore);
        }
    }

    /** The operator's directory is theirs: the server's is made in it, and deleted with what sqlite-jdbc put there. */
    @Test
    void anOperatorsDirectoryGetsOneOfTheServersOwnInItWhichADeleteRemoves() throws Exception {
        System.setProperty(SqliteTempDirectory.PROPERTY, dir.toString());

        Optional<SqliteTempDirectory> made = SqliteTempDirectory.create();

        assertThat(made).isPresent();
        Path own = Path.of(System.getProperty(SqliteTempDirectory.PROPERTY));
        assertThat(own.getParent()).isEqualTo(dir);
        assertThat(own.getFileName().toString()).startsWith("picotunnel-sqlite-");
        Files.writeString(own.resolve("sqlite-3-libsqlitejdbc.so.lck"), "");
        made.get().deleteQuietly();
        assertThat(SqliteTempFiles.in(dir)).isEmpty();
    }

    /** It failed without a word, and a stop then left sqlite-jdbc's library where no one would look for it. */
    @Test
    void aDirectoryThatCannotBeMadeIsOneWarningAndLeavesTheSettingAsItWas() {
        String missing = dir.resolve("missing").toString();
        System.setProperty(SqliteTempDirectory.PROPERTY, missing);

        try (LogCapture logged = new LogCapture(SqliteTempDirectory.class, Level.WARN)) {
            assertThat(SqliteTempDirectory.create()).isEmpty();

            assertThat(logged.events()).singleElement().satisfies(event -> {
                assertThat(event.getLevel()).isEqualTo(Level.WARN);
                assertThat(event.getFormattedMessage()).contains(missing, "sqlite-jdbc's native library");
            });
        }
        assertThat(System.getProperty(SqliteTempDirectory.PROPERTY)).isEqualTo(missing);
    }
}
