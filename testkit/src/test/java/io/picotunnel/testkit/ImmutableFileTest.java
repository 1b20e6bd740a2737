package io.picotunnel.testkit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** chattr +i on a real file, undone by close() without hiding the failure of the test's body. */
class ImmutableFileTest {

    @TempDir
    Path dir;

    @Test
    void theFileCannotBeDeletedUntilClosed() throws IOException {
        Path file = Files.writeString(dir.resolve("stuck"), "kept");
        try (ImmutableFile immutable = ImmutableFile.make(file)) {
            assertThatThrownBy(() -> Files.delete(immutable.path())).hasMessageEndingWith("Operation not permitted");
        }
        Files.delete(file);
    }

    /**
     * A body that fails and a close() that cannot undo chattr +i (here the file's directory moved away by the body):
     * the body's failure is the one thrown, the close's suppressed in it. An assertion on chattr -i in a finally
     * replaced the body's failure with its own.
     */
    @Test
    void aCloseThatFailsAfterAFailedBodyDoesNotHideTheBodysFailure() throws IOException {
        Path file = Files.writeString(Files.createDirectories(dir.resolve("first")).resolve("stuck"), "kept");
        Path moved = dir.resolve("moved");
        Throwable thrown = null;
        try {
            try (ImmutableFile immutable = ImmutableFile.make(file)) {
                Files.move(immutable.path().getParent(), moved);
                throw new AssertionError("the body's failure");
            }
        } catch (AssertionError e) {
            thrown = e;
        } finally {
            // Only where the body moved it: made again on a missing file, the chattr's skip hid an earlier failure.
            if (Files.exists(moved.resolve("stuck"))) {
                try (ImmutableFile undo = ImmutableFile.make(moved.resolve("stuck"))) {
                    assertThat(undo.path()).exists(); // made changeable again, so that @TempDir can delete it
                }
            }
        }

        assertThat(thrown).hasMessage("the body's failure");
        assertThat(thrown.getSuppressed()).singleElement().satisfies(suppressed -> assertThat(suppressed)
                .isInstanceOf(AssertionError.class)
                .hasMessage("chattr -i " + file + " failed: the file stays immutable"));
    }
}
