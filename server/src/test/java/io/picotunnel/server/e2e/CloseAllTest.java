package io.picotunnel.server.e2e;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CloseAllTest {

    /**
     * Before (HeldStreams.close's loop): the first close's RuntimeException left the resources after it open; and
     * AgainstAnUploadBudget.closeVisitors had its own copy of this loop.
     */
    @Test
    void everyResourceIsClosedThoughClosesFailTheFirstFailureThrownWithTheOthersInIt() {
        List<String> closed = new ArrayList<>();
        IllegalStateException first = new IllegalStateException("first");
        IOException second = new IOException("second");
        List<AutoCloseable> resources = List.of(
                () -> {
                    closed.add("a");
                    throw first;
                },
                () -> {
                    closed.add("b");
                    throw second;
                },
                () -> closed.add("c"));

        assertThatThrownBy(() -> CloseAll.closeAll(resources)).isSameAs(first);
        assertThat(first.getSuppressed()).containsExactly(second);
        assertThat(closed).containsExactly("a", "b", "c");
    }

    @Test
    void aCheckedFailureOtherThanAnIoExceptionIsThrownInOne() {
        Exception checked = new Exception("checked");
        List<AutoCloseable> resources = List.of(() -> {
            throw checked;
        });

        assertThatThrownBy(() -> CloseAll.closeAll(resources)).isInstanceOf(IOException.class).hasCause(checked);
    }
}
