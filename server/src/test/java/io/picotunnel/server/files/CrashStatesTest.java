package io.picotunnel.server.files;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The states a crash can leave of the steps {@link CrashStates} recorded. */
class CrashStatesTest {

    @TempDir
    Path dir;

    @Test
    void aSyncTheFileSystemCannotDoKeepsNoRenameSure() throws IOException {
        CrashStates recorded = new CrashStates(ignored -> false);
        DurableFileWrites writes = recorded.writes();

        writes.replace(dir.resolve("a"), bytes("new a"), PosixFilePermissions.fromString("rw-r--r--"));
        writes.replace(dir.resolve("b"), bytes("new b"), PosixFilePermissions.fromString("rw-r--r--"));

        assertThat(recorded.steps()).containsExactly("a temporary file -> a", "a temporary file -> b");
        assertThat(recorded.statesAfterACrash(Map.of("a", "old a")).keySet()).containsExactlyInAnyOrder(
                Map.of("a", "old a"), Map.of("a", "new a"), Map.of("a", "old a", "b", "new b"),
                Map.of("a", "new a", "b", "new b"));
    }

    @Test
    void aRenameBeforeASyncOutlastsEveryCrashAfterIt() throws IOException {
        CrashStates recorded = new CrashStates(DirectorySync::sync);

        recorded.writes().replace(dir.resolve("a"), bytes("new a"), PosixFilePermissions.fromString("rw-r--r--"));

        assertThat(recorded.steps()).containsExactly("a temporary file -> a", "sync");
        assertThat(recorded.statesAfterACrash(Map.of("a", "old a")).keySet()).containsExactlyInAnyOrder(
                Map.of("a", "old a"), Map.of("a", "new a"));
    }

    @Test
    void aCrashOnceDoneCanUndoTheChangesAfterTheLastSyncOnly() throws IOException {
        CrashStates recorded = new CrashStates(DirectorySync::sync);
        DurableFileWrites writes = recorded.writes();

        writes.replace(dir.resolve("a"), bytes("new a"), PosixFilePermissions.fromString("rw-r--r--"));
        writes.delete(dir.resolve("a"));

        assertThat(recorded.steps()).containsExactly("a temporary file -> a", "sync", "delete a");
        assertThat(recorded.statesAfterACrashOnceDone(Map.of()).keySet()).containsExactlyInAnyOrder(
                Map.of("a", "new a"), Map.of());
        writes.sync(dir);
        assertThat(recorded.statesAfterACrashOnceDone(Map.of()).keySet()).containsExactly(Map.of());
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.US_ASCII);
    }
}
