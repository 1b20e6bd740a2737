package io.picotunnel.server.store;

import io.picotunnel.server.files.Fifo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/** The fsync of a directory's entries, and what it does with something else in the directory's place. */
class DirectorySyncTest {

    @TempDir
    Path dir;

    @Test
    void aDirectoryIsSynced() {
        assertThat(DirectorySync.sync(dir)).isTrue();
    }

    /** A FIFO in the directory's place (a backup's or a restore's target swapped) is not synced, at once. */
    @Test
    void aFifoInTheDirectorysPlaceIsNotSyncedAndDoesNotBlock() throws Exception {
        try (Fifo fifo = Fifo.make(dir.resolve("fifo"))) {
            assertThat(assertTimeoutPreemptively(Duration.ofSeconds(30), () -> DirectorySync.sync(fifo.path())))
                    .isFalse();
        }
    }

    @Test
    void aFileOrNothingInTheDirectorysPlaceIsNotSynced() throws Exception {
        assertThat(DirectorySync.sync(Files.writeString(dir.resolve("file"), "data"))).isFalse();
        assertThat(DirectorySync.sync(dir.resolve("missing"))).isFalse();
    }
}
