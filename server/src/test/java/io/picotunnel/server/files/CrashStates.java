package io.picotunnel.server.files;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * What a crash of the machine can leave of one directory written through {@link #writes()}, on a POSIX file system,
 * which keeps no order among renames: those before the directory's last sync, and any subset of those after, each
 * with the content its file had (written whole and fsynced before its rename, as {@link DurableFileWrites} does).
 * Deletions likewise: those before the last sync, and any subset of those after, with the renames.
 * A sync is recorded only when the directory was synced: on a file system that cannot sync one, no rename or deletion
 * is ever sure to outlast a crash. A temporary file a crash leaves before its rename is in no state: nothing reads the
 * names {@link DurableFileWrites} gives them ({@link DurableFileWrites#TEMPORARY_PREFIX}); the next start deletes them
 * ({@link DurableFileWrites#deleteLeftTemporaryFiles}).
 */
public final class CrashStates {

    private static final int MAX_UNSYNCED_CHANGES = 16;

    private sealed interface Step {
    }

    /** A change of the directory's names, which a crash after it keeps or loses till the next sync. */
    private sealed interface Change extends Step {
        void applyTo(Map<String, String> files);
    }

    private record Rename(String from, String to, String content) implements Change {
        @Override
        public void applyTo(Map<String, String> files) {
            files.remove(from);
            files.put(to, content);
        }

        @Override
        public String toString() {
            return (from.startsWith(DurableFileWrites.TEMPORARY_PREFIX) ? "a temporary file" : from) + " -> " + to;
        }
    }

    private record Delete(String name) implements Change {
        @Override
        public void applyTo(Map<String, String> files) {
            files.remove(name);
        }

        @Override
        public String toString() {
            return "delete " + name;
        }
    }

    private record Sync() implements Step {
        @Override
        public String toString() {
            return "sync";
        }
    }

    private final List<Step> steps = new ArrayList<>();
    private final Predicate<Path> syncDirectory;

    /** Steps of writes that sync with {@link DirectorySync#sync}. */
    public CrashStates() {
        this(DirectorySync::sync);
    }

    /** {@code syncDirectory}: {@link DirectorySync#sync} but in this class's tests. */
    CrashStates(Predicate<Path> syncDirectory) {
        this.syncDirectory = syncDirectory;
    }

    /** Writes that do their renames, deletions and directory syncs, recorded here. */
    public DurableFileWrites writes() {
        return new DurableFileWrites(dir -> {
            boolean synced = syncDirectory.test(dir);
            if (synced) {
                steps.add(new Sync());
            }
            return synced;
        }, Files::getFileStore, (from, to, options) -> {
            String content = read(from);
            Files.move(from, to, options);
            steps.add(new Rename(from.getFileName().toString(), to.getFileName().toString(), content));
        }, file -> {
            boolean deleted = Files.deleteIfExists(file);
            if (deleted) {
                steps.add(new Delete(file.getFileName().toString()));
            }
            return deleted;
        });
    }

    /** The steps recorded, in order: {@code <from> -> <to>}, {@code delete <name>} or {@code sync}. */
    public List<String> steps() {
        return steps.stream().map(Step::toString).toList();
    }

    /**
     * Every state a crash after any of the steps recorded could leave of a directory that held {@code before} when they
     * began, as {@link #filesOf}; each with the steps kept, to tell what was lost.
     */
    public Map<Map<String, String>, String> statesAfterACrash(Map<String, String> before) {
        Map<Map<String, String>, String> states = new LinkedHashMap<>();
        for (int crash = 0; crash <= steps.size(); crash++) {
            addStatesAfterACrash(steps.subList(0, crash), before, states);
        }
        return states;
    }

    /**
     * Every state a crash once all the steps recorded are done could leave, as {@link #statesAfterACrash}: one, the
     * directory as it is, when they end with a sync.
     */
    public Map<Map<String, String>, String> statesAfterACrashOnceDone(Map<String, String> before) {
        Map<Map<String, String>, String> states = new LinkedHashMap<>();
        addStatesAfterACrash(steps, before, states);
        return states;
    }

    private static void addStatesAfterACrash(List<Step> done, Map<String, String> before,
            Map<Map<String, String>, String> states) {
        int lastSync = lastSync(done);
        List<Change> synced = changes(done.subList(0, lastSync + 1));
        List<Change> unsynced = changes(done.subList(lastSync + 1, done.size()));
        if (unsynced.size() > MAX_UNSYNCED_CHANGES) {
            throw new IllegalStateException(unsynced.size() + " changes between syncs: too many subsets to try");
        }
        for (int kept = 0; kept < 1 << unsynced.size(); kept++) {
            Map<String, String> state = new TreeMap<>(before);
            List<Change> applied = new ArrayList<>(synced);
            for (int i = 0; i < unsynced.size(); i++) {
                if ((kept & 1 << i) != 0) {
                    applied.add(unsynced.get(i));
                }
            }
            applied.forEach(change -> change.applyTo(state));
            states.putIfAbsent(state, "after " + done + ", of the changes since the last sync only "
                    + applied.subList(synced.size(), applied.size()) + " kept");
        }
    }

    private static int lastSync(List<Step> done) {
        for (int i = done.size() - 1; i >= 0; i--) {
            if (done.get(i) instanceof Sync) {
                return i;
            }
        }
        return -1;
    }

    private static List<Change> changes(List<Step> steps) {
        return steps.stream().filter(Change.class::isInstance).map(Change.class::cast).toList();
    }

    /** The files of {@code dir}: name to content (bytes as ISO-8859-1 characters). */
    public static Map<String, String> filesOf(Path dir) throws IOException {
        Map<String, String> files = new TreeMap<>();
        try (Stream<Path> entries = Files.list(dir)) {
            for (Path file : entries.toList()) {
                files.put(file.getFileName().toString(), read(file));
            }
        }
        return files;
    }

    /** Writes {@code files} ({@link #filesOf}) into {@code dir}, created for them. */
    public static Path write(Map<String, String> files, Path dir) throws IOException {
        Files.createDirectories(dir);
        for (Map.Entry<String, String> file : files.entrySet()) {
            Files.writeString(dir.resolve(file.getKey()), file.getValue(), StandardCharsets.ISO_8859_1);
        }
        return dir;
    }

    private static String read(Path file) throws IOException {
        return Files.readString(file, StandardCharsets.ISO_8859_1);
    }
}
