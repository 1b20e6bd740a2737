package io.picotunnel.server.store;

import io.picotunnel.protocol.config.Durations;
import io.picotunnel.server.files.PosixPermissions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteConnection;
import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The SQLite database file, with one connection for writing transactions ({@link #inTransaction}) and
 * {@link #READ_CONNECTIONS} for reads ({@link #read}), each used by one thread at a time. With the WAL journal a read
 * never waits for a write in progress, nor for another read, so a lookup (a tunnel token, from an event loop) is never
 * stuck behind a service change that is waiting for a listener, or behind a long listing. Foreign keys on, a busy
 * timeout; migrations applied when opened. Other components with tables of their own (sessions, certificates) use
 * the same two methods.
 */
public final class Database implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Database.class);
    private static final int BUSY_TIMEOUT_MILLIS = 5_000;
    /**
     * How many reads run at once. A few: a long read (a listing, an export) then leaves the others to the token
     * lookups of tunnel handshakes and the UI's sessions, and each connection holds its own page cache.
     */
    public static final int READ_CONNECTIONS = 4;
    /** How long a read waits for a free read connection before it fails as busy: as long as a change for the lock. */
    public static final Duration READ_WAIT = Duration.ofMillis(BUSY_TIMEOUT_MILLIS);
    /** Free space below which an I/O error of SQLite at start is taken for a full disk: the -shm alone takes 32 KiB. */
    private static final long NEARLY_FULL_BYTES = 1024 * 1024;

    /** Work on the connection; may throw a checked exception of its own, which rolls the transaction back. */
    @FunctionalInterface
    public interface Work<T, E extends Exception> {
        T run(Connection connection) throws SQLException, E;
    }

    private final Path file;
    private final Connection connection;
    private final ReentrantLock lock = new ReentrantLock();
    /** Guarded by lock. */
    private boolean closed;
    private ReadConnections readConnections;
    /** The read connection the current thread's read holds, for the reads nested in it. */
    private final ThreadLocal<Connection> heldRead = new ThreadLocal<>();
    /** What works joined to the transaction in progress run at its commit or, in reverse, at its failure; guarded by lock. */
    private final List<Runnable> joinedCommits = new ArrayList<>();
    private final List<Runnable> joinedFailures = new ArrayList<>();

    private Database(Path file, Connection connection) {
        this.file = file;
        this.connection = connection;
    }

    /** The database's name, then SQLite's files beside it, which it must be able to create and write too. */
    private static final List<String> SUFFIXES = List.of("", "-wal", "-shm", "-journal");

    /**
     * Opens (creating it with mode 0600 if needed) and migrates the database at {@code file}. A database (or a file
     * of SQLite's beside it) that cannot be written, or a directory in its place, is one sentence that names it.
     */
    public static Database open(Path file) {
        return open(file, READ_WAIT);
    }

    /** As {@link #open(Path)}, a read waiting at most {@code readWait} for a free read connection. */
    static Database open(Path file, Duration readWait) {
        return open(file, readWait, Files::getFileStore);
    }

    /** As {@link #open(Path, Duration)}, the file store of the database's directory looked up by {@code fileStore}. */
    static Database open(Path file, Duration readWait, PosixPermissions.FileStoreLookup fileStore) {
        refuseWhatIsNotAFile(file);
        try {
            return openAndMigrate(file, readWait, fileStore);
        } catch (StoreException e) {
            throw openFailure(file, e);
        }
    }

    /**
     * What {@link #open} says when opening {@code file} failed with {@code e}: a sentence for what SQLite could not
     * write, a disk I/O error apart (the disk or the file system failed; the permissions are no help).
     */
    static StoreException openFailure(Path file, StoreException e) {
        OptionalLong free = fullDisk(file, e);
        if (free.isPresent()) {
            return new StoreException("The database " + file + " cannot be written: the file system it is on is full ("
                    + free.getAsLong() / 1024 + " KiB free); free some space there, or move the data directory to a"
                    + " larger disk, then start the server again.", e, false);
        }
        Optional<SQLiteErrorCode> cannotWrite = cannotWrite(e);
        if (cannotWrite.isEmpty()) {
            return e;
        }
        if ((cannotWrite.get().code & 0xFF) == SQLiteErrorCode.SQLITE_IOERR.code) {
            return new StoreException("The database " + file + " cannot be used: SQLite had a disk I/O error ("
                    + cannotWrite.get().message + "): check the disk and the file system it is on (dmesg shows the"
                    + " kernel's errors, such as a failing disk or a file system remounted read-only), then start the"
                    + " server again.", e, false);
        }
        return cannotWrite(file, cannotWrite.get().message, e);
    }

    /**
     * The bytes free for the server where {@code file} is, when {@code e} is what a full disk makes SQLite say: that the
     * database or disk is full (a new database, its tables not all written), or an I/O error while less than
     * {@link #NEARLY_FULL_BYTES} are free (an existing one: growing its shared-memory file, -shm, fails first). Said as
     * an I/O error, the operator was sent to look for a failing disk.
     */
    private static OptionalLong fullDisk(Path file, StoreException e) {
        for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
            if (t instanceof SQLiteException sqlite) {
                int primary = sqlite.getResultCode().code & 0xFF;
                if (primary != SQLiteErrorCode.SQLITE_FULL.code && primary != SQLiteErrorCode.SQLITE_IOERR.code) {
                    return OptionalLong.empty();
                }
                long free;
                try {
                    free = Files.getFileStore(file.toAbsolutePath().getParent()).getUsableSpace();
                } catch (IOException unknown) {
                    return OptionalLong.empty();
                }
                return primary == SQLiteErrorCode.SQLITE_FULL.code || free < NEARLY_FULL_BYTES
                        ? OptionalLong.of(free) : OptionalLong.empty();
            }
        }
        return OptionalLong.empty();
    }

    /**
     * A directory (or anything but a file) where the database or one of SQLite's files beside it goes: SQLite would
     * say only that it cannot open the database, or that it is read-only.
     */
    private static void refuseWhatIsNotAFile(Path file) {
        for (String suffix : SUFFIXES) {
            Path path = file.resolveSibling(file.getFileName() + suffix);
            if (Files.exists(path) && !Files.isRegularFile(path)) {
                throw new StoreException("The database " + file + " cannot be used: " + path + " is "
                        + (Files.isDirectory(path) ? "a directory" : "not a regular file") + ", not a file SQLite can"
                        + " write; move it away (the server creates " + (suffix.isEmpty() ? "a new database" : "the file")
                        + " there), or choose another data directory.", null, false);
            }
        }
    }

    private static StoreException cannotWrite(Path file, String why, Exception cause) {
        return new StoreException("The database " + file + " cannot be opened for writing (" + why + "): the server's"
                + " user must be able to write it, the files beside it (" + file.getFileName() + "-wal and -shm, which"
                + " SQLite creates) and the data directory, on a file system mounted read-write.", cause, false);
    }

    /** SQLite could not open or write the file (permissions, a read-only file system, an I/O error). */
    private static Optional<SQLiteErrorCode> cannotWrite(StoreException e) {
        for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
            if (t instanceof SQLiteException sqlite) {
                int primary = sqlite.getResultCode().code & 0xFF;
                for (SQLiteErrorCode code : List.of(SQLiteErrorCode.SQLITE_READONLY, SQLiteErrorCode.SQLITE_CANTOPEN,
                        SQLiteErrorCode.SQLITE_PERM, SQLiteErrorCode.SQLITE_IOERR)) {
                    if (primary == code.code) {
                        return Optional.of(sqlite.getResultCode());
                    }
                }
            }
        }
        return Optional.empty();
    }

    private static Database openAndMigrate(Path file, Duration readWait, PosixPermissions.FileStoreLookup fileStore) {
        refuseAnotherProgramsDatabase(file);
        createPrivately(file, fileStore);
        SQLiteConfig config = new SQLiteConfig();
        config.setJournalMode(SQLiteConfig.JournalMode.WAL);
        // FULL: a commit returns only once its WAL frames are on disk, so a write the API answered 2xx survives
        // a crash of the process or of the machine. Writes are rare (API changes, sessions), so the fsync is cheap.
        config.setSynchronous(SQLiteConfig.SynchronousMode.FULL);
        // Deleted content is overwritten, so a dropped secret (the plain tunnel tokens of before V25) is not left
        // behind in free pages.
        config.setPragma(SQLiteConfig.Pragma.SECURE_DELETE, "true");
        config.enforceForeignKeys(true);
        config.setBusyTimeout(BUSY_TIMEOUT_MILLIS);
        Database database = new Database(file, connect(config, file));
        try {
            new Migrations(database).apply();
            database.tryAWrite();
            // The settings above are the connection's own (but WAL, the file's): each read connection gets them too.
            database.readConnections = ReadConnections.open(file, READ_CONNECTIONS, readWait,
                    () -> queryOnly(connect(config, file), file));
        } catch (RuntimeException e) {
            database.close();
            throw e;
        }
        return database;
    }

    /**
     * A file SQLite could open only for reading (another user's, read-only, on a read-only mount) is opened all the
     * same, and once migrated nothing at start writes: the server would run until the first change, and fail each one.
     * An update that matches no row changes nothing but needs the file writable.
     */
    private void tryAWrite() {
        inTransaction(connection -> {
            try (Statement statement = connection.createStatement()) {
                return statement.executeUpdate("UPDATE schema_version SET version = version WHERE 0");
            }
        });
    }

    /**
     * The JDBC URL of the database file {@code file}: a {@code file:} URI, every byte of its absolute path but letters,
     * digits and {@code / - . _ ~} percent-encoded. Put into the URL as it is, a path with {@code ?} was cut there by
     * the driver, which took the rest for settings ({@code /srv/a?b&c/picotunnel.db}: "unable to open database file"),
     * and SQLite reads {@code #} and {@code %} in a URI as a fragment and an escape.
     */
    static String url(Path file) {
        StringBuilder url = new StringBuilder("jdbc:sqlite:file:");
        for (byte b : file.toAbsolutePath().toString().getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xFF;
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "/-._~".indexOf(c) >= 0) {
                url.append((char) c);
            } else {
                url.append('%').append(HEX[c >> 4]).append(HEX[c & 0xF]);
            }
        }
        return url.toString();
    }

    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    private static Connection connect(SQLiteConfig config, Path file) {
        try {
            Connection connection = config.createConnection(url(file));
            connection.setAutoCommit(false);
            return connection;
        } catch (SQLException e) {
            throw new StoreException("Cannot open the database " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * {@code connection}, refusing every change (SQLITE_READONLY): a read connection. A write made there by mistake
     * would bypass the write lock, the joined commits and the busy bounds of {@link #inTransaction}, and its read's
     * rollback would undo it without a word.
     */
    private static Connection queryOnly(Connection connection, Path file) {
        try (Statement statement = connection.createStatement()) {
            statement.execute("PRAGMA query_only = ON");
            return connection;
        } catch (SQLException e) {
            try {
                connection.close();
            } catch (SQLException closeFailure) {
                e.addSuppressed(closeFailure);
            }
            throw new StoreException("Cannot open the database " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * A file with tables but without our {@code schema_version} is another program's database (a wrong file
     * restored, say): migrating it would add our tables to it and start with no tunnels, so every client, answered
     * 401, would stop for good. Ours by its columns, not by its name alone: Flyway's history table of old is called
     * schema_version too, and taking it for ours ran our migrations on that file until one failed. Looked at before
     * any setting (WAL) is applied, so the file is left as it was.
     */
    private static void refuseAnotherProgramsDatabase(Path file) {
        long size;
        try {
            size = Files.isRegularFile(file) ? Files.size(file) : 0;
        } catch (IOException e) {
            throw new StoreException("Cannot read the database file " + file + ": " + e.getMessage(), e);
        }
        if (size == 0) {
            return;
        }
        try (Connection connection = new SQLiteConfig().createConnection(url(file));
             Statement statement = connection.createStatement();
             ResultSet tables = statement.executeQuery("SELECT count(*), count(*) FILTER (WHERE name ="
                     + " 'schema_version' AND (SELECT count(*) FROM pragma_table_info('schema_version') WHERE name IN"
                     + " ('version', 'name', 'applied_at')) = 3) FROM sqlite_schema WHERE type = 'table'")) {
            if (tables.getInt(1) > 0 && tables.getInt(2) == 0) {
                throw new StoreException("The database " + file + " is not a PicoTunnel database (it has tables,"
                        + " none of them PicoTunnel's): put the right file there (a picotunnel-server backup), or move"
                        + " it away to start with an empty database.", null, true);
            }
            // The check reads the whole file: said first, so that a slow start on a large file is explained.
            log.info("Checking the database {} ({} MiB)…", file, size / (1024 * 1024));
            refuseADamagedDatabase(file, connection);
        } catch (SQLException e) {
            StoreException failure = new StoreException("Cannot open the database " + file + ": " + e.getMessage(), e);
            throw failure.unusable() ? damaged(file, e.getMessage()) : failure;
        }
    }

    /**
     * A damaged file (cut short when the disk filled up or a copy stopped, pages overwritten) is refused at start:
     * left to run, it fails only when a damaged page is read (the events, the checks), maybe long after, and writing
     * to it can spread the damage. SQLite's quick check reads every page once, without comparing indexes to tables.
     * It also reports rows that break a rule of their table (a NULL in a NOT NULL column, a failed CHECK: a change
     * made by hand with {@code sqlite3}); the file is sound then, and the start is refused with another sentence that
     * names those rows. Not started with a warning: such a row fails when it is read (a service of an unknown type
     * ends the start with an exception at its replay), so the fix is the operator's.
     */
    private static void refuseADamagedDatabase(Path file, Connection connection) throws SQLException {
        switch (FileCheck.run(connection, "quick_check")) {
            case FileCheck.Sound sound -> { }
            case FileCheck.Damaged damaged -> throw damaged(file, damaged.finding());
            case FileCheck.BrokenRules broken -> throw new StoreException("The database " + file + " is not damaged"
                    + " but has rows that break the rules of their table, as a change made by hand with sqlite3 can: "
                    + String.join("; ", broken.rules()) + "; stop the server and correct or delete those rows with"
                    + " sqlite3 (UPDATE or DELETE ... WHERE rowid = N), or restore a backup (picotunnel-server restore"
                    + " --data DIR FILE).", null, true);
        }
    }

    /** A file SQLite finds corrupt (or not a database): {@code why} is its first word on it. */
    private static StoreException damaged(Path file, String why) {
        return new StoreException("The database " + file + " is damaged (" + why.lines().findFirst().orElse("").strip()
                + "): restore a backup (picotunnel-server restore --data DIR FILE), or move it away to start with"
                + " an empty database.", null, true);
    }

    /**
     * SQLite creates its -wal and -shm files with the mode of the database file, so this covers them too: owner-only
     * wherever the file system has POSIX permissions ({@link PosixPermissions#initial}), its file store too or not.
     * The mode of a file that has it already is not set again: that would fail on a file the server can write but not
     * chmod; nor where the store says it has no POSIX permissions, which may refuse a chmod.
     */
    private static void createPrivately(Path file, PosixPermissions.FileStoreLookup fileStore) {
        Set<PosixFilePermission> ownerOnly = PosixFilePermissions.fromString("rw-------");
        Path dir = file.toAbsolutePath().getParent();
        FileAttribute<?>[] attributes = PosixPermissions.initial(dir, ownerOnly, fileStore);
        if (attributes.length == 0) {
            return;
        }
        try {
            try {
                Files.createFile(file, attributes);
            } catch (FileAlreadyExistsException e) {
                if (PosixPermissions.supported(dir, fileStore)
                        && !Files.getPosixFilePermissions(file).equals(ownerOnly)) {
                    Files.setPosixFilePermissions(file, ownerOnly);
                }
            }
        } catch (IOException e) {
            String why = e instanceof FileSystemException f && f.getReason() != null ? f.getReason() : e.toString();
            throw cannotWrite(file, why, e);
        }
    }

    public Path file() {
        return file;
    }

    /**
     * Runs {@code work} in a transaction: committed when it returns, rolled back when it throws. A call made from
     * within another transaction on the same thread joins it. Database errors become {@link StoreException}.
     */
    public <T, E extends Exception> T inTransaction(Work<T, E> work) throws E {
        return inTransaction(work, () -> { });
    }

    /**
     * Like {@link #inTransaction(Work)}, and runs {@code onFailure} when the work or its commit fails, while the write
     * connection is still held: what it undoes outside the database (listeners told of a change) is undone before
     * another change can come in and be undone by it.
     */
    public <T, E extends Exception> T inTransaction(Work<T, E> work, Runnable onFailure) throws E {
        return inTransaction(work, () -> { }, onFailure);
    }

    /**
     * Like {@link #inTransaction(Work, Runnable)}, and runs {@code onCommit} once the work is committed, while the
     * write connection is still held: what it finishes outside the database is finished before another change comes in.
     * Joining a transaction of the same thread, {@code onCommit} waits for that transaction's commit and
     * {@code onFailure} runs if it fails, though this work returned: the work is undone with it.
     */
    public <T, E extends Exception> T inTransaction(Work<T, E> work, Runnable onCommit, Runnable onFailure) throws E {
        return inTransaction(work, onCommit, onFailure, Duration.ofMillis(BUSY_TIMEOUT_MILLIS));
    }

    /**
     * Like {@link #inTransaction(Work)}, waiting for the database (other changes, another program) at most
     * {@code wait}, not the whole busy timeout: for a write that can wait for a later occasion, made on the way of a
     * request that should not wait for it (a session's last use).
     */
    public <T, E extends Exception> T inTransactionWaitingAtMost(Duration wait, Work<T, E> work) throws E {
        return inTransaction(work, () -> { }, () -> { }, wait);
    }

    private <T, E extends Exception> T inTransaction(Work<T, E> work, Runnable onCommit, Runnable onFailure,
                                                     Duration wait) throws E {
        long deadline = System.nanoTime() + wait.toNanos();
        lockBefore(deadline, wait);
        if (closed) {
            lock.unlock();
            throw StoreException.closed(file);
        }
        if (lock.getHoldCount() > 1) {
            return joined(work, onCommit, onFailure);
        }
        boolean succeeded = false;
        try {
            T result;
            boolean committed = false;
            try {
                beginImmediate(deadline);
                result = work.run(connection);
                connection.commit();
                committed = true;
            } finally {
                if (!committed) {
                    rollbackQuietly();
                }
            }
            succeeded = true;
            joinedCommits.add(onCommit);
            runAll(joinedCommits);
            return result;
        } catch (SQLException e) {
            throw new StoreException("Database error: " + e.getMessage(), e);
        } finally {
            try {
                if (!succeeded) {
                    Collections.reverse(joinedFailures);
                    joinedFailures.add(onFailure);
                    runAll(joinedFailures);
                }
            } finally {
                joinedCommits.clear();
                joinedFailures.clear();
                lock.unlock();
            }
        }
    }

    /** {@code work} in the transaction this thread has in progress, its callbacks left to that transaction's end. */
    private <T, E extends Exception> T joined(Work<T, E> work, Runnable onCommit, Runnable onFailure) throws E {
        try {
            T result = work.run(connection);
            joinedCommits.add(onCommit);
            joinedFailures.add(onFailure);
            return result;
        } catch (SQLException e) {
            onFailure.run();
            throw new StoreException("Database error: " + e.getMessage(), e);
        } catch (Throwable t) {
            onFailure.run();
            throw t;
        } finally {
            lock.unlock();
        }
    }

    /** Runs each of {@code callbacks} once, in order, even if one throws: the first failure is thrown after the rest. */
    private static void runAll(List<Runnable> callbacks) {
        RuntimeException first = null;
        for (Runnable callback : List.copyOf(callbacks)) {
            try {
                callback.run();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        callbacks.clear();
        if (first != null) {
            throw first;
        }
    }

    /**
     * Takes the write connection by {@code deadline}: the busy timeout bounds the whole wait of a change, in this
     * process and in SQLite. Waiting in turn for the lock without a bound, changes that came while another program held
     * the database would each wait the whole busy timeout after the one before (the tenth, most of a minute).
     */
    private void lockBefore(long deadline, Duration wait) {
        try {
            if (!lock.tryLock(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                throw StoreException.busy("Database busy: other changes have held it for " + Durations.format(wait));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreException("Interrupted while waiting for the database", e);
        }
    }

    /** What is left until {@code deadline}, at least 1 ms (0 would turn SQLite's waiting off, not make it short). */
    private static int remainingMillis(long deadline) {
        return (int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
    }

    /**
     * Turns the deferred transaction the driver has begun (it begins one at once after each commit or rollback, and
     * takes no lock until the first statement) into an IMMEDIATE one, which takes the write lock now, waiting up to the
     * busy timeout while another connection (a {@code sqlite3} shell) writes. Left deferred, a transaction that reads
     * first (a service's conflicts) asks for the write lock while holding a read snapshot, and SQLite answers
     * SQLITE_BUSY at once instead of waiting. Not the driver's IMMEDIATE mode: that would take the write lock again
     * right after every commit and keep it while the server is idle.
     */
    private void beginImmediate(long deadline) throws SQLException {
        connection.unwrap(SQLiteConnection.class).setBusyTimeout(remainingMillis(deadline));
        try (Statement statement = connection.createStatement()) {
            try {
                statement.execute("COMMIT");
            } catch (SQLException e) {
                // Outside any transaction: SQLite ended the last one itself (see rollbackQuietly), nothing to commit.
                if (!noTransactionIsActive(e)) {
                    throw e;
                }
            }
            try {
                statement.execute("BEGIN IMMEDIATE");
            } catch (SQLException e) {
                // Back in a transaction, as the driver expects the connection to be (the rollback ends it).
                statement.execute("BEGIN");
                throw e;
            }
        }
    }

    /**
     * Runs read-only {@code work} on a consistent snapshot of what is committed, on a free read connection: it waits
     * for one at most {@link #READ_WAIT}, then fails as busy. Within a transaction of the same thread it runs in that
     * transaction instead, so the thread sees its own changes. Within a read of the same thread it runs on that read's
     * connection and snapshot, which the outer read releases: taking a second one, reads that nest would wait for each
     * other's connections once every one is held, and fail as busy.
     */
    public <T, E extends Exception> T read(Work<T, E> work) throws E {
        if (lock.isHeldByCurrentThread()) {
            return inTransaction(work);
        }
        Connection held = heldRead.get();
        if (held != null) {
            return nestedRead(held, work);
        }
        Connection readConnection = readConnections.take();
        heldRead.set(readConnection);
        try {
            try {
                return work.run(readConnection);
            } finally {
                rollbackQuietly(readConnection);
            }
        } catch (SQLException e) {
            throw new StoreException("Database error: " + e.getMessage(), e);
        } finally {
            heldRead.remove();
            readConnections.giveBack(readConnection);
        }
    }

    private static <T, E extends Exception> T nestedRead(Connection held, Work<T, E> work) throws E {
        try {
            return work.run(held);
        } catch (SQLException e) {
            throw new StoreException("Database error: " + e.getMessage(), e);
        }
    }

    private void rollbackQuietly() {
        rollbackQuietly(connection);
    }

    /**
     * Ends the transaction of {@code target} without changes (for a read connection: releases its snapshot). After
     * SQLITE_FULL or SQLITE_IOERR SQLite may have rolled the transaction back itself: the driver's rollback then fails
     * before it begins the next transaction, as it does after each rollback, so that BEGIN is sent here; left outside
     * a transaction, the connection would fail every later commit ("no transaction is active") until a restart.
     */
    private static void rollbackQuietly(Connection target) {
        try {
            target.rollback();
        } catch (SQLException e) {
            if (!noTransactionIsActive(e)) {
                log.warn("Rollback failed: {}", e.getMessage());
            }
            try (Statement statement = target.createStatement()) {
                statement.execute("BEGIN");
            } catch (SQLException beginFailure) {
                log.warn("Could not begin a transaction after a failed rollback: {}", beginFailure.getMessage());
            }
        }
    }

    /** SQLite's answer to a COMMIT or ROLLBACK outside any transaction. */
    private static boolean noTransactionIsActive(SQLException e) {
        return e.getMessage() != null && e.getMessage().contains("no transaction is active");
    }

    /**
     * Closes the connections: the read connections free now, each one a read holds when that read ends (close does
     * not wait for it; later reads fail saying the database is closed), the write connection once the change in
     * progress ends.
     */
    @Override
    public void close() {
        if (readConnections != null) {
            readConnections.close();
        }
        lock.lock();
        try {
            closed = true;
            connection.close();
        } catch (SQLException e) {
            log.warn("Closing the database failed: {}", e.getMessage());
        } finally {
            lock.unlock();
        }
    }
}
