package io.picotunnel.server;

import io.picotunnel.server.store.Store;
import io.picotunnel.server.store.Tunnel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README's "Backup and restore" commands, run as written with every absolute path moved under a scratch
 * directory ({@code /var/lib/picotunnel} is {@code <tmp>/var/lib/picotunnel}): the backup copies the database,
 * and the restore of that copy brings back the tunnels it held.
 */
class ReadmeBackupRestoreTest {

    private static final Path README = Path.of("").toAbsolutePath().getParent().resolve("README.md");
    private static final Pattern COMMAND = Pattern.compile("(?m)^picotunnel-server (backup|restore) (.+)$");
    private static final String TODAY = "$(date +%F)";

    @TempDir
    Path root;

    @Test
    void theReadmesBackupThenRestoreBringBackTheTunnelsOfTheBackup() throws IOException {
        List<String> backup = command("backup");
        List<String> restore = command("restore");
        Path data = local(value(backup, "--data"));
        assertThat(local(value(restore, "--data"))).as("both commands name the same data directory").isEqualTo(data);
        String backupFile = backup.getLast();
        String restoreFile = restore.getLast();
        // The restore names a backup the backup command made on some day: the same name with a date for $(date +%F).
        assertThat(backupFile).contains(TODAY);
        assertThat(restoreFile).matches(Pattern.quote(backupFile).replace(TODAY, "\\E\\d{4}-\\d{2}-\\d{2}\\Q"));

        Files.createDirectories(data);
        try (Store store = Store.open(data)) {
            store.createTunnel("kept-by-the-backup");
        }
        Path copy = local(backupFile.replace(TODAY, LocalDate.now().toString()));
        Files.createDirectories(copy.getParent());
        run(backup, backupFile, copy);
        assertThat(copy).isRegularFile();

        try (Store store = Store.open(data)) {
            store.createTunnel("made-after-the-backup");
        }
        Path named = local(restoreFile);
        Files.copy(copy, named);
        run(restore, restoreFile, named);
        try (Store store = Store.open(data)) {
            assertThat(store.tunnels()).extracting(Tunnel::name).containsExactly("kept-by-the-backup");
        }
    }

    /** The words after {@code picotunnel-server} of the README's one command line for {@code subcommand}. */
    private static List<String> command(String subcommand) throws IOException {
        Matcher command = COMMAND.matcher(Files.readString(README));
        List<List<String>> found = new ArrayList<>();
        while (command.find()) {
            if (command.group(1).equals(subcommand)) {
                List<String> words = new ArrayList<>(List.of(subcommand));
                words.addAll(List.of(command.group(2).strip().split("\\s+(?![^(]*\\))"))); // not inside $( )
                found.add(words);
            }
        }
        assertThat(found).as("the README's picotunnel-server %s command", subcommand).hasSize(1);
        return found.getFirst();
    }

    private static String value(List<String> words, String flag) {
        int at = words.indexOf(flag);
        assertThat(at).as("%s in %s", flag, words).isPositive();
        return words.get(at + 1);
    }

    private Path local(String absolute) {
        assertThat(absolute).startsWith("/");
        return root.resolve(absolute.substring(1));
    }

    /** Runs the command, which must succeed, with its absolute paths under the scratch directory and {@code file}. */
    private void run(List<String> words, String fileWord, Path file) {
        List<String> args = new ArrayList<>();
        for (String word : words) {
            args.add(word.equals(fileWord) ? file.toString() : word.startsWith("/") ? local(word).toString() : word);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = ServerMain.subcommand(args.toArray(String[]::new), Map.of(),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(out, true, StandardCharsets.UTF_8))
                .orElseThrow();
        assertThat(code).as("%s said: %s", args, out.toString(StandardCharsets.UTF_8)).isZero();
    }
}
