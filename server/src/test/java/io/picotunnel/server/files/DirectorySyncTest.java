package io.picotunnel.server.files;

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

    /**
     * On a thread interrupted (the ACME thread by the server's shutdown, as it saves a certificate) the directory is
     * still synced, and the interrupt kept for the thread to end on: the channel opened with the interrupt set was closed
     * at once, and the sync not done.
     */
    @Test
    void aDirectoryIsSyncedOnAnInterruptedThreadWhichKeepsTheInterrupt() {
        Thread.currentThread().interrupt();
        try {
            assertThat(DirectorySync.sync(dir)).isTrue();
            assertThat(Thread.currentThread().isInterrupted()).as("the interrupt is kept").isTrue();
        } finally {
            Thread.interrupted();
        }
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
