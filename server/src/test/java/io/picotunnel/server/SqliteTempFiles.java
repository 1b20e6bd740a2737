package io.picotunnel.server;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What sqlite-jdbc put in a server process's temporary directory: its native library and {@code .lck}, and the
 * server's {@code picotunnel-sqlite-*} directory holding them, which a stop must not leave. The process is given the
 * directory as its {@value #DEFAULT} (the server makes its own directory there) or as an operator's {@value
 * #OPERATORS} (the server makes its own in it too, and leaves theirs as it was).
 */
public final class SqliteTempFiles {

    public static final String DEFAULT = "java.io.tmpdir";
    public static final String OPERATORS = "org.sqlite.tmpdir";
    /** A file of the operator's in their {@value #OPERATORS}, as {@link #prepare} puts it there. */
    private static final String THEIRS = "operators-file";

    private SqliteTempFiles() {
    }

    /**
     * Makes {@code temp}, with a file of the operator's in it when the process is to be given it as {@code property}
     * {@value #OPERATORS}; returns the process's option that gives it.
     */
    public static String prepare(Path temp, String property) throws IOException {
        Files.createDirectories(temp);
        if (property.equals(OPERATORS)) {
            Files.writeString(temp.resolve(THEIRS), "theirs");
        }
        return "-D" + property + "=" + temp;
    }

    /** Nothing of sqlite-jdbc's is left in {@code temp}, and an operator's directory holds only what it held. */
    public static void assertNoneLeft(Path temp, String property) throws IOException {
        assertThat(in(temp)).as("sqlite-jdbc's library and the server's directory for it, deleted at the end")
                .isEmpty();
        if (property.equals(OPERATORS)) {
            try (Stream<Path> files = Files.list(temp)) {
                assertThat(files.map(file -> file.getFileName().toString())).as("the operator's directory")
                        .containsExactly(THEIRS);
            }
        }
    }

    /**
     * The names under {@code temp}, two levels deep and relative to it, that have {@code sqlite-} in them. A name
     * gone by the time it is asked whether it is a directory is none, and a directory gone before it is listed holds
     * nothing: in the process's {@value #DEFAULT} other files come and go (Netty's library, deleted once loaded), where
     * {@link Files#walk} failed on one deleted between the listing and its turn.
     */
    public static List<String> in(Path temp) throws IOException {
        List<String> names = new ArrayList<>();
        for (Path entry : entries(temp)) {
            String name = entry.getFileName().toString();
            names.add(name);
            if (Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS)) {
                try {
                    entries(entry).forEach(inner -> names.add(name + "/" + inner.getFileName()));
                } catch (NoSuchFileException | NotDirectoryException e) {
                    // Gone since it was listed.
                }
            }
        }
        return names.stream().filter(name -> name.contains("sqlite-")).toList();
    }

    private static List<Path> entries(Path directory) throws IOException {
        List<Path> entries = new ArrayList<>();
        try (DirectoryStream<Path> listed = Files.newDirectoryStream(directory)) {
            listed.forEach(entries::add);
        }
        return entries;
    }
}
