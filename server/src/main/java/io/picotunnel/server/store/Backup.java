package io.picotunnel.server.store;

import io.picotunnel.server.files.DurableFileWrites;
import io.picotunnel.server.files.PosixPermissions;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteConnection;
import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;
import org.sqlite.core.DB;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A consistent copy of the database while the server runs, made with SQLite's online backup (in one step):
 * it reads pages under SQLite's own locking, so writes of the running server are either in the copy or not, never
 * half. The copy is written next to the target under a temporary name and moved into place, mode 0600 (it holds
 * the tunnels' tokens).
 */
public final class Backup {

    /** sqlite3_backup_step's page count for "all that remain". */
    private static final int ALL_PAGES = -1;
    /** While the database is locked (a checkpoint): 100 waits of 100 ms, as the busy timeout's 10 s. */
    private static final int BUSY_SLEEP_MILLIS = 100;
    private static final int BUSY_RETRIES = 100;

    private Backup() {
    }

    /**
     * SQLite's online backup of every page in one step, under one read transaction (WAL lets the server write on
     * meanwhile). In steps of some pages, as {@code backup to} takes them, a commit of the running server between two
     * steps starts the copy over: under steady writes a big database's copy could never end.
     */
    private static void copyAllPagesInOneStep(Connection connection, Path partial) throws SQLException {
        int result = connection.unwrap(SQLiteConnection.class).getDatabase()
                .backup("main", partial.toString(), null, BUSY_SLEEP_MILLIS, BUSY_RETRIES, ALL_PAGES);
        if (result != SQLiteErrorCode.SQLITE_OK.code) {
            throw DB.newSQLException(result, "Backup failed");
        }
    }

    /**
     * The backup written: where, and whether its directory was synced after the rename that put it there (false where
     * the file system cannot sync a directory).
     */
    public record Written(Path file, boolean directorySynced) {
    }

    /** Copies {@code <dataDir>/picotunnel.db} to {@code target}; throws {@link StoreException} with a sentence. */
    public static Written run(Path dataDir, Path target) {
        return run(dataDir, target, () -> { });
    }

    /**
     * As {@link #run(Path, Path)}; {@code whileOpen} runs after the copy while the database is still open, in the
     * state a backup killed there leaves behind. Run as root on the database of a stopped server, reading it makes
     * SQLite create its -wal and -shm; SQLite's unix VFS gives them the database file's owner, so a server run as
     * another user can still open them.
     */
    static Written run(Path dataDir, Path target, Runnable whileOpen) {
        return run(dataDir, target, whileOpen, Files::getFileStore);
    }

    /** As {@link #run(Path, Path, Runnable)}, the target's file store looked up by {@code fileStore}. */
    static Written run(Path dataDir, Path target, Runnable whileOpen, PosixPermissions.FileStoreLookup fileStore) {
        Path database = AbsolutePaths.withoutDotSegments(dataDir.resolve(Store.DATABASE_FILE));
        // A data directory this user may not look into (the server's, 0700) is not one without a database.
        String unreadable = unreadable(database);
        if (unreadable != null) {
            throw new StoreException("Cannot read the database " + database + ": " + unreadable + "; run the backup"
                    + " as the server's user or as root.", null);
        }
        if (!Files.isRegularFile(database)) {
            throw new StoreException("There is no database at " + database
                    + "; pass the server's data directory with --data (or PICOTUNNEL_DATA_DIR).", null);
        }
        Path absoluteTarget = AbsolutePaths.withoutDotSegments(target);
        Path parent = absoluteTarget.getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            String why = parent == null ? null : unreadable(parent);
            throw new StoreException("Cannot write the backup to " + absoluteTarget + ": " + (why != null ? why
                    : "the directory " + parent + " does not exist") + ".", null);
        }
        if (Files.isDirectory(absoluteTarget)) {
            throw new StoreException("Cannot write the backup to " + absoluteTarget + ": it is a directory; name a file"
                    + " in it, such as " + absoluteTarget.resolve("picotunnel-backup.db") + ".", null);
        }
        if (isTheDatabase(database, absoluteTarget)) {
            // Moved over the live file, the copy would take its place while the server goes on writing to the old
            // one (its open descriptor): every write after the backup would be lost at the next start.
            throw new StoreException("Cannot write the backup to " + absoluteTarget + ": that is the database itself"
                    + " (or one of its files); write the backup outside " + database.getParent() + ".", null);
        }
        String serverFile = serverFile(dataDir, absoluteTarget);
        if (serverFile != null) {
            Path data = database.getParent();
            throw new StoreException("Cannot write the backup to " + absoluteTarget + ": that is " + serverFile
                    + ", which the server keeps in its data directory " + data + "; give the backup a name of its own,"
                    + " such as " + data.resolve("picotunnel-backup.db") + ", or write it outside " + data
                    + ". Nothing was written.", null);
        }
        if (absoluteTarget.toString().indexOf('"') >= 0) {
            throw new StoreException("Cannot write the backup to " + absoluteTarget
                    + ": choose a file name without double quotes.", null);
        }
        Path partial = parent.resolve("." + absoluteTarget.getFileName() + ".partial");
        // Ctrl-C or SIGTERM (a job's timeout) ends the JVM without running the finally below: the hook deletes the
        // partial copy then, which holds the tunnels' tokens.
        Thread cleanUp = new Thread(() -> deletePartial(partial), "backup-clean-up");
        Runtime.getRuntime().addShutdownHook(cleanUp);
        try {
            Files.deleteIfExists(partial);
            Files.createFile(partial,
                    PosixPermissions.initial(parent, PosixFilePermissions.fromString("rw-------"), fileStore));
            SQLiteConfig config = new SQLiteConfig();
            config.setBusyTimeout(10_000);
            try (Connection connection = config.createConnection(Database.url(database))) {
                refuseDamaged(connection, database, absoluteTarget);
                copyAllPagesInOneStep(connection, partial);
                whileOpen.run();
            }
            // The rename is an entry of the directory: synced, or a crash of the machine soon after could leave the
            // older backup of that name, or none, although the command said the backup was written.
            return new Written(absoluteTarget, DurableFileWrites.standard().moveIntoPlace(partial, absoluteTarget));
        } catch (NoSuchFileException e) {
            throw new StoreException("Cannot write the backup to " + absoluteTarget + ": " + e.getFile() + " is missing.", e);
        } catch (IOException e) {
            throw new StoreException("Cannot write the backup to " + absoluteTarget + ": " + FileErrors.describe(e) + ".", e);
        } catch (SQLException e) {
            if (e instanceof SQLiteException sqlite
                    && (sqlite.getResultCode().code & 0xFF) == SQLiteErrorCode.SQLITE_FULL.code) {
                // SQLite says "database is full": of the copy it was writing, not of the server's database.
                throw new StoreException("Cannot write the backup to " + absoluteTarget + ": the file system it is on"
                        + " is full; free some space there or write the backup elsewhere.", e);
            }
            if (needsAWritableDirectory(e) && !Files.isWritable(database.getParent())) {
                throw new StoreException("Cannot back up the database " + database + ": the data directory "
                        + database.getParent() + " is not writable, and SQLite must create its -wal and -shm files"
                        + " there to read the database; run the backup as a user who may write there, such as the"
                        + " server's.", e);
            }
            throw new StoreException("The backup of " + database + " failed: " + e.getMessage(), e);
        } finally {
            deletePartial(partial);
            try {
                Runtime.getRuntime().removeShutdownHook(cleanUp);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs, or has run, and finds nothing left to delete
            }
        }
    }

    /**
     * SQLite's answer when it cannot create the -wal or -shm of a WAL database beside it: "unable to open" or
     * "readonly" (with _DIRECTORY), in whichever words of its version.
     */
    private static boolean needsAWritableDirectory(SQLException e) {
        if (!(e instanceof SQLiteException sqlite)) {
            return false;
        }
        int primary = sqlite.getResultCode().code & 0xFF;
        return primary == SQLiteErrorCode.SQLITE_CANTOPEN.code || primary == SQLiteErrorCode.SQLITE_READONLY.code;
    }

    private static void deletePartial(Path partial) {
        try {
            for (String suffix : new String[] {"", "-wal", "-shm", "-journal"}) {
                Files.deleteIfExists(partial.resolveSibling(partial.getFileName() + suffix));
            }
        } catch (IOException ignored) {
            // nothing more to clean up than we tried
        }
    }

    /**
     * The online backup copies pages as they are: a damaged database gives a damaged copy, which restore would refuse
     * when it is needed, and which would have replaced a sound backup of the same name. The database is checked first,
     * as the server's start checks it (quick_check, a read that a running server's writes go on beside); rows that only
     * break their table's rules are copied as they are (restore names them).
     */
    private static void refuseDamaged(Connection connection, Path database, Path target) throws SQLException {
        String finding;
        try {
            if (!(FileCheck.run(connection, "quick_check") instanceof FileCheck.Damaged damaged)) {
                return;
            }
            finding = damaged.finding();
        } catch (SQLException e) {
            if (!(e instanceof SQLiteException sqlite
                    && (sqlite.getResultCode().code & 0xFF) == SQLiteErrorCode.SQLITE_CORRUPT.code)) {
                throw e;
            }
            finding = sqlite.getMessage();
        }
        throw new StoreException("The database " + database + " is damaged (" + finding + "), and a copy of it would"
                + " be too: no backup was written" + (Files.exists(target) ? " (" + target + " is left as it was)"
                : "") + ". Keep your earlier backups; restore one while the server is stopped (picotunnel-server"
                + " restore --data DIR FILE).", null, true);
    }

    /** Why {@code file} cannot be read when it is there ("permission denied on F"); null when it can, or is not there. */
    private static String unreadable(Path file) {
        try {
            Files.readAttributes(file, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            return FileErrors.describe(e);
        }
        return Files.isRegularFile(file) && !Files.isReadable(file) ? "permission denied on " + file : null;
    }

    /**
     * What the server keeps at {@code target} when the backup, moved over that name, would replace a file of the
     * server's in {@code dataDir} (its directory found through links): the lock file (a running server would go on
     * holding its lock on the replaced one, and a second server could start), the admin token, a certificate, a copy a
     * restore kept or is writing, the database and SQLite's files (whatever the path's spelling); else null. Names
     * as {@code DataDirectoryLock}, {@code AdminToken} and {@code ServerTls} give them.
     */
    private static String serverFile(Path dataDir, Path target) {
        Path parent;
        Path data;
        try {
            parent = target.getParent().toRealPath();
            data = dataDir.toRealPath();
        } catch (IOException e) {
            return null; // checked above: both are there
        }
        if (parent.startsWith(data.resolve("certs"))) {
            return "a file of its certificates";
        }
        if (!parent.equals(data)) {
            return null;
        }
        // Compared ignoring case: on a case-insensitive file system (macOS, Windows) "Admin-Token" is admin-token.
        String name = target.getFileName().toString().toLowerCase(Locale.ROOT);
        String database = Store.DATABASE_FILE;
        if (name.equals("picotunnel.lock")) {
            return "its lock file";
        }
        if (name.equals("admin-token")) {
            return "its admin token";
        }
        if (name.matches(Pattern.quote(database) + "(-wal|-journal)?\\.before-restore-.+")) {
            return "a database (or its WAL) a restore replaced and kept";
        }
        if (name.startsWith("." + database + ".restoring")) {
            return "the copy a restore checks";
        }
        if (name.matches(Pattern.quote(database) + "(-wal|-shm|-journal)?")) {
            return "its database (or one of SQLite's files beside it)";
        }
        return null;
    }

    /** The same file on a case-insensitive file system, also before it exists (SQLite's -wal comes and goes). */
    private static boolean sameNameIgnoringCase(Path a, Path b) {
        return Objects.equals(a.getParent(), b.getParent())
                && a.getFileName().toString().equalsIgnoreCase(b.getFileName().toString());
    }

    private static boolean isTheDatabase(Path database, Path target) {
        for (String suffix : new String[] {"", "-wal", "-shm", "-journal"}) {
            Path file = database.resolveSibling(database.getFileName() + suffix);
            try {
                if (sameNameIgnoringCase(target.normalize(), file.normalize())
                        || (Files.exists(target) && Files.exists(file) && Files.isSameFile(target, file))) {
                    return true;
                }
            } catch (IOException e) {
                throw new StoreException("Cannot write the backup to " + target + ": " + FileErrors.describe(e) + ".", e);
            }
        }
        return false;
    }
}
