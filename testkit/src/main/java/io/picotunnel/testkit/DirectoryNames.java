package io.picotunnel.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** What a test finds in a directory: the names of its entries. */
public final class DirectoryNames {

    private DirectoryNames() {
    }

    /** The names of {@code dir}'s entries, sorted; an UncheckedIOException where it cannot be listed. */
    public static List<String> of(Path dir) {
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.map(entry -> entry.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
