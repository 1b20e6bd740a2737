package io.picotunnel.server.store;

import io.picotunnel.server.files.DurableFileWrites;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Puts a backup in place of the database while the server is stopped. The backup is copied into the data directory
 * and checked there first (SQLite's integrity check, PicoTunnel's schema, not from a newer version), so a truncated,
 * corrupt or wrong file changes nothing. The database it replaces, its WAL folded in, is kept next to it as
 * {@code picotunnel.db.before-restore-<time>} (UTC to the millisecond, {@code 20260131-142503.207Z}, with -2,
 * -3... after it when a copy of that name is there already: no restore overwrites an earlier one's); no -wal, -shm
 * or -journal is left to be read with the new one, also when the database was moved away without them (one with content is kept as {@code picotunnel.db-wal.before-restore-<time>}).
 * The checked copy is forced to disk and replaces the database by one atomic rename (the one replaced is kept by a
 * hard link made before), so that a crash at any moment leaves a picotunnel.db, the old or the new.
 * The restored file belongs to the owner of the one it replaces (or of the directory), when the caller may give it.
 * The sign-in sessions of the web UI in the copy are ended: one signed out or revoked after the backup was made
 * would otherwise be valid again, so everyone signs in again.
 */
public final class Restore {

    /**
     * Where the restored database went, where the one it replaced is kept (null when there was none), how many
     * sign-in sessions of the backup were ended, and where a -wal or -journal left without the database it belonged
     * to is kept; {@code ownerNote} is a sentence when the restored file may not belong to the server's user (null
     * otherwise).
     */
    public record Outcome(Path database, Path previous, int endedSessions, List<Path> leftovers, String ownerNote) {
    }

    /** Who the restored file is to belong to, when the caller says so: a user and, if not null, a group. */
    public record Owner(UserPrincipal user, GroupPrincipal group) {
    }

    private static final Logger log = LoggerFactory.getLogger(Restore.class);
    /** The copy a restore checks before it replaces the database, in the data directory. */
    static final String STAGING_FILE = "." + Store.DATABASE_FILE + ".restoring";
    private static final DateTimeFormatter STAMP =
            DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss.SSS'Z'").withZone(ZoneOffset.UTC);
    /** Most copies with the same time, numbered, before a restore gives up (bounds the search for a free name). */
    private static final int MAX_SAME_STAMP = 1000;

    private Restore() {
    }

    /**
     * What runs around a restore: {@code lock} holds the data directory from the moment it exists to the end (the
     * server's lock, so that no server starts on it meanwhile and opens a file about to be replaced), and
     * {@code afterSetAside} runs once the database replaced is kept aside, just before the new one goes in (tests
     * stand in a server start or a crash there).
     */
    public record Steps(Function<Path, DirectoryLock> lock, Runnable afterSetAside) {

        /** No lock (for callers holding one already) and nothing in between. */
        public static final Steps NONE = new Steps(dir -> () -> { }, () -> { });
    }

    /** A lock on the data directory, let go of when the restore ends. */
    public interface DirectoryLock extends AutoCloseable {
        @Override
        void close() throws IOException;
    }

    /** Restores {@code backup} into {@code dataDir}; throws {@link StoreException} with a sentence. */
    public static Outcome run(Path dataDir, Path backup) {
        return run(dataDir, backup, null, Steps.NONE);
    }

    /** As {@link #run(Path, Path, Owner, Steps)}, the owner taken from the database replaced or the directory. */
    public static Outcome run(Path dataDir, Path backup, Steps steps) {
        return run(dataDir, backup, null, steps);
    }

    /**
     * As {@link #run(Path, Path)}, holding {@code steps.lock()} on the data directory throughout; whatever the lock
     * throws when it cannot be had (a server runs) goes to the caller as it is, and nothing is changed. The restored
     * file is given to {@code owner}, or when null to the owner of the database replaced (else of the directory).
     */
    public static Outcome run(Path dataDir, Path backup, Owner owner, Steps steps) {
        return run(dataDir, backup, owner, steps, Clock.systemUTC());
    }

    /** As {@link #run(Path, Path, Owner, Steps)}, the names of the copies kept from {@code clock}. */
    static Outcome run(Path dataDir, Path backup, Owner owner, Steps steps, Clock clock) {
        return run(dataDir, backup, owner, steps, clock, DurableFileWrites.standard());
    }

    /**
     * As {@link #run(Path, Path, Owner, Steps, Clock)}; {@code files} syncs the directory after the copies are set
     * aside and moves the new database into place (the server's writes, {@link DurableFileWrites#standard()}, but in
     * tests).
     */
    static Outcome run(Path dataDir, Path backup, Owner owner, Steps steps, Clock clock, DurableFileWrites files) {
        Path source = AbsolutePaths.withoutDotSegments(backup);
        if (!Files.isRegularFile(source) || !Files.isReadable(source)) {
            throw new StoreException("Cannot restore " + source + ": there is no readable file there.", null);
        }
        Path dir = dataDir.toAbsolutePath().normalize();
        try {
            Files.createDirectories(dir, files.initial(dir, PosixFilePermissions.fromString("rwx------")));
        } catch (IOException e) {
            throw new StoreException("Cannot restore " + source + " into " + dir + ": " + FileErrors.describe(e) + ".", e);
        }
        DirectoryLock lock = steps.lock().apply(dir);
        try {
            return replace(dir, source, owner, steps, clock, files);
        } finally {
            try {
                lock.close();
            } catch (IOException ignored) {
                // the operating system lets go of it when the process ends, moments later
            }
        }
    }

    private static Outcome replace(Path dir, Path source, Owner wanted, Steps steps, Clock clock,
            DurableFileWrites files) {
        Path database = dir.resolve(Store.DATABASE_FILE);
        Path staging = dir.resolve(STAGING_FILE);
        try {
            if (Files.exists(database) && Files.isSameFile(source, database)) {
                throw new StoreException("Cannot restore " + source + ": it is the database itself.", null);
            }
            removeUnfinished(dir);
            Files.createFile(staging, files.initial(dir, PosixFilePermissions.fromString("rw-------")));
            try (OutputStream out = Files.newOutputStream(staging, StandardOpenOption.TRUNCATE_EXISTING)) {
                Files.copy(source, out);
            }
            check(staging, source);
            int endedSessions = endSessions(staging, source);
            String ownerNote = wanted != null ? giveTo(staging, wanted, source) : giveToServersUser(staging, database, dir);
            try (FileChannel channel = FileChannel.open(staging, StandardOpenOption.WRITE)) {
                channel.force(true);
            }
            String stamp = unusedStamp(database, clock, source);
            Path previous = Files.exists(database) ? keepAside(database, stamp) : null;
            List<Path> leftovers = setAsideLeftovers(database, stamp);
            files.sync(dir);
            steps.afterSetAside().run();
            // One rename replaces the old file with the new: at no moment, crash or not, is there no picotunnel.db
            // (a server would start on a new empty one, and every client would be refused for good).
            files.moveIntoPlace(staging, database);
            return new Outcome(database, previous, endedSessions, leftovers, ownerNote);
        } catch (IOException e) {
            throw new StoreException("Cannot restore " + source + " into " + dir + ": " + FileErrors.describe(e) + ".", e);
        } finally {
            try {
                deleteWithCompanions(staging);
            } catch (IOException ignored) {
                // nothing more to clean up than we tried
            }
        }
    }

    /** The copy is a whole PicoTunnel database this version can run on, or a sentence says what it is instead. */
    private static void check(Path copy, Path source) {
        SQLiteConfig config = new SQLiteConfig();
        try (Connection connection = config.createConnection(Database.url(copy));
             Statement statement = connection.createStatement()) {
            switch (FileCheck.run(connection, "integrity_check")) {
                case FileCheck.Sound sound -> { }
                case FileCheck.Damaged damaged -> throw notRestorable(source, "it is damaged (" + damaged.finding()
                        + ")", null);
                // The start would refuse it (Database): said now, while the database in place still runs.
                case FileCheck.BrokenRules broken -> throw notRestorable(source, "it is not damaged but has rows that"
                        + " break the rules of their table, as a change made by hand with sqlite3 can: "
                        + String.join("; ", broken.rules()) + "; correct or delete those rows in a copy of it with"
                        + " sqlite3 (UPDATE or DELETE ... WHERE rowid = N) and restore that", null);
            }
            // Flyway's history table of old was called schema_version too: PicoTunnel's tunnels must be there as well.
            try (ResultSet result = statement.executeQuery("SELECT count(*) FROM sqlite_schema WHERE type = 'table'"
                    + " AND name IN ('schema_version', 'tunnels')")) {
                if (result.getInt(1) < 2) {
                    throw notRestorable(source, "it is not a PicoTunnel database", null);
                }
            }
            int newest = Migrations.available().getLast().version();
            try (ResultSet result = statement.executeQuery("SELECT coalesce(max(version), 0) FROM schema_version")) {
                int version = result.getInt(1);
                if (version > newest) {
                    throw notRestorable(source, "it has schema version " + version + ", newer than this PicoTunnel"
                            + " knows (" + newest + "); restore it with a newer PicoTunnel", null);
                }
            }
        } catch (SQLException e) {
            // SQLite stops reading a damaged file (a page cut off, a pointer out of it) with SQLITE_CORRUPT
            if (e instanceof SQLiteException sqlite
                    && (sqlite.getResultCode().code & 0xFF) == SQLiteErrorCode.SQLITE_CORRUPT.code) {
                throw notRestorable(source, "it is damaged or cut short (" + e.getMessage() + ")", e);
            }
            throw notRestorable(source, "it is not a usable SQLite database (" + e.getMessage() + ")", e);
        }
    }

    /**
     * Deletes the web UI's sign-in sessions from the copy: the backup cannot know which were signed out or revoked
     * since, and a session cookie stolen and revoked must not work again after a restore.
     */
    private static int endSessions(Path copy, Path source) {
        SQLiteConfig config = new SQLiteConfig();
        try (Connection connection = config.createConnection(Database.url(copy));
             Statement statement = connection.createStatement()) {
            try (ResultSet result = statement.executeQuery(
                    "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'sessions'")) {
                if (result.getInt(1) == 0) {
                    return 0;
                }
            }
            return statement.executeUpdate("DELETE FROM sessions");
        } catch (SQLException e) {
            throw notRestorable(source, "its sign-in sessions could not be ended (" + e.getMessage() + ")", e);
        }
    }

    private static StoreException notRestorable(Path source, String why, Throwable cause) {
        return new StoreException("Cannot restore " + source + ": " + why + ". Nothing was changed.", cause, true);
    }

    /**
     * The {@code <time>} of the names the files set aside get: now in UTC to the millisecond, numbered (-2, -3...)
     * when a file set aside by an earlier restore has that name, so that two restores in one moment keep both.
     */
    private static String unusedStamp(Path database, Clock clock, Path source) {
        String time = STAMP.format(clock.instant());
        for (int n = 1; n <= MAX_SAME_STAMP; n++) {
            String stamp = n == 1 ? time : time + "-" + n;
            boolean taken = false;
            for (String suffix : List.of("", "-wal", "-journal")) {
                taken |= Files.exists(database.resolveSibling(database.getFileName() + suffix + ".before-restore-"
                        + stamp), LinkOption.NOFOLLOW_LINKS);
            }
            if (!taken) {
                return stamp;
            }
        }
        throw notRestorable(source, MAX_SAME_STAMP + " files named " + database.getFileName() + ".before-restore-"
                + time + "-N are in the way of the copy of the database it replaces; move them away", null);
    }

    /**
     * Folds the WAL of the current database into it, under an exclusive lock that a running server prevents, and
     * keeps it under another name as well (a hard link, else a copy): the file kept is whole, no -wal of it is left
     * to be replayed onto the restored one, and picotunnel.db stays in place until the new file replaces it.
     */
    private static Path keepAside(Path database, String stamp) throws IOException {
        SQLiteConfig config = new SQLiteConfig();
        config.setLockingMode(SQLiteConfig.LockingMode.EXCLUSIVE);
        config.setBusyTimeout(0);
        try (Connection connection = config.createConnection(Database.url(database));
             Statement statement = connection.createStatement()) {
            statement.execute("BEGIN EXCLUSIVE");
            statement.execute("COMMIT");
            statement.execute("PRAGMA wal_checkpoint(TRUNCATE)");
        } catch (SQLException e) {
            if (e.getMessage() != null && (e.getMessage().contains("SQLITE_BUSY") || e.getMessage().contains("locked"))) {
                throw new StoreException("Cannot restore while a server uses " + database + ": stop the server first."
                        + " Nothing was changed.", e);
            }
            throw new StoreException("Cannot restore over " + database + ": it cannot be opened (" + e.getMessage()
                    + "); move it away yourself first. Nothing was changed.", e);
        }
        Path previous = database.resolveSibling(database.getFileName() + ".before-restore-" + stamp);
        try {
            Files.createLink(previous, database);
        } catch (FileAlreadyExistsException e) {
            throw e; // not a file system without hard links: never overwrite a copy kept before
        } catch (IOException | UnsupportedOperationException e) {
            // a file system without hard links
            Files.copy(database, previous, StandardCopyOption.COPY_ATTRIBUTES);
            try (FileChannel channel = FileChannel.open(previous, StandardOpenOption.WRITE)) {
                channel.force(true);
            }
        }
        return previous;
    }

    /**
     * No -wal, -shm or -journal of another file may meet the restored one: SQLite would replay it onto it at the next
     * open (a database moved away without its -wal leaves one behind). One with content is kept under another name
     * (it may hold the last writes of the database it came with); the rest is deleted.
     */
    private static List<Path> setAsideLeftovers(Path database, String stamp) throws IOException {
        List<Path> kept = new ArrayList<>();
        for (String suffix : List.of("-wal", "-journal")) {
            Path leftover = database.resolveSibling(database.getFileName() + suffix);
            if (Files.exists(leftover, LinkOption.NOFOLLOW_LINKS) && Files.size(leftover) > 0) {
                Path keptAs = leftover.resolveSibling(leftover.getFileName() + ".before-restore-" + stamp);
                Files.move(leftover, keptAs);
                kept.add(keptAs);
            } else {
                Files.deleteIfExists(leftover);
            }
        }
        Files.deleteIfExists(database.resolveSibling(database.getFileName() + "-shm"));
        return List.copyOf(kept);
    }

    /** Gives the copy to the owner the caller named; nothing is changed when it cannot be. */
    private static String giveTo(Path copy, Owner owner, Path source) {
        String whom = owner.user().getName() + (owner.group() == null ? "" : ":" + owner.group().getName());
        PosixFileAttributeView view = Files.getFileAttributeView(copy, PosixFileAttributeView.class);
        if (view == null) {
            throw new StoreException("Cannot restore " + source + " for " + whom + ": the data directory's file system"
                    + " has no owners; restore without --owner. Nothing was changed.", null);
        }
        try {
            view.setOwner(owner.user());
            if (owner.group() != null) {
                view.setGroup(owner.group());
            }
            return null;
        } catch (IOException e) {
            throw new StoreException("Cannot restore " + source + ": the restored file cannot be given to " + whom
                    + " (" + FileErrors.describe(e) + "); run the restore as root, or as that user without --owner. Nothing"
                    + " was changed.", e);
        }
    }

    /**
     * Gives the copy to the server's user as far as it can be told: the owner of the database replaced, else of the
     * directory (root's on a Kubernetes volume, where the server runs as another user). A sentence says whom it
     * belongs to when that may not be the server's user, and how to change it.
     */
    private static String giveToServersUser(Path copy, Path database, Path dir) throws IOException {
        boolean replacing = Files.exists(database);
        UserPrincipal owner = Files.getOwner(replacing ? database : dir);
        try {
            Files.setOwner(copy, owner);
        } catch (IOException | UnsupportedOperationException e) {
            // Run as another user than the data directory's, without the right to give files away: the file stays
            // the caller's (a systemd StateDirectory is handed back to the service at its start).
        }
        UserPrincipal got = Files.getOwner(copy);
        if (!got.equals(owner)) {
            return database.getFileName() + " belongs to " + got.getName() + ", not to " + owner.getName() + ", the"
                    + " owner of " + (replacing ? "the database it replaced" : "the data directory") + " (this user may"
                    + " not give files away): before starting the server, chown " + owner.getName() + " " + database
                    + ", or run the restore as root.";
        }
        if (!replacing) {
            return database.getFileName() + " belongs to " + got.getName() + ", the data directory's owner, as there"
                    + " was no database to take the owner from: if the server runs as another user (uid 10001 in the"
                    + " Docker image), chown 10001 " + database + " before starting it, or restore with --owner"
                    + " UID[:GID].";
        }
        return null;
    }

    /**
     * Deletes the copy (and SQLite's files beside it) that a restore killed midway (SIGKILL, a crash, the machine
     * stopping) left in {@code dataDir}: it holds the tunnels' tokens of the backup, and nothing else would ever delete
     * it. The database is as it was before that restore, which renames the copy into place as its very last step. For
     * callers holding the data directory's lock only (a server starting, a restore), so never the copy of a restore
     * that runs. Each file deleted is logged; one that cannot be is logged as a warning and left.
     */
    public static void removeUnfinished(Path dataDir) {
        Path staging = dataDir.resolve(STAGING_FILE);
        for (String suffix : List.of("", "-wal", "-shm", "-journal")) {
            Path file = staging.resolveSibling(staging.getFileName() + suffix);
            try {
                if (Files.deleteIfExists(file)) {
                    log.info("Deleted {}, left by a restore that did not finish (the database is as it was before"
                            + " that restore).", file);
                }
            } catch (IOException e) {
                log.warn("Could not delete {}, left by a restore that did not finish ({}); delete it yourself: it"
                        + " holds a copy of the tunnels' tokens.", file, FileErrors.describe(e));
            }
        }
    }

    private static void deleteWithCompanions(Path file) throws IOException {
        for (String suffix : List.of("", "-wal", "-shm", "-journal")) {
            Files.deleteIfExists(file.resolveSibling(file.getFileName() + suffix));
        }
    }
}
