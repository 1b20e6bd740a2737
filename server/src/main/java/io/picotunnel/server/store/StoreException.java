package io.picotunnel.server.store;

import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;

import java.nio.file.Path;

/** The database failed in a way the caller cannot fix (I/O error, corrupt file). */
public final class StoreException extends RuntimeException {

    private final boolean unusable;
    private final boolean busy;
    private final boolean readConnectionsHeld;

    /** Unusable when SQLite says the file is corrupt or not a database. */
    public StoreException(String message, Throwable cause) {
        this(message, cause, corruptOrNotADatabase(cause));
    }

    /** @param unusable trying again cannot help: the file is corrupt, another program's, or from a newer version */
    public StoreException(String message, Throwable cause, boolean unusable) {
        this(message, cause, unusable, false, false);
    }

    private StoreException(String message, Throwable cause, boolean unusable, boolean busy,
                           boolean readConnectionsHeld) {
        super(message, cause);
        this.unusable = unusable;
        this.busy = busy;
        this.readConnectionsHeld = readConnectionsHeld;
    }

    /** The wait for the database ran out before SQLite was asked (the changes before this one held it). */
    static StoreException busy(String message) {
        return new StoreException(message, null, false, true, false);
    }

    /** The wait of a read for a free read connection ran out: other reads held every one. Busy as well. */
    static StoreException readConnectionsHeld(String message) {
        return new StoreException(message, null, false, true, true);
    }

    /** The database was closed: the server is stopping, and what comes in meanwhile fails with this. */
    static StoreException closed(Path file) {
        return new StoreException("The database " + file + " is closed (the server is stopping)", null);
    }

    /** Trying again cannot help until someone replaces the file (or runs a newer PicoTunnel). */
    public boolean unusable() {
        return unusable;
    }

    /**
     * Another connection held the database locked for longer than the busy timeout (a {@code sqlite3} shell in a
     * transaction): the change was rolled back, and trying again once it lets go works.
     */
    public boolean busy() {
        if (busy) {
            return true;
        }
        for (Throwable t = getCause(); t != null; t = t.getCause()) {
            // the primary code (low byte) covers the extended ones (SQLITE_BUSY_SNAPSHOT, SQLITE_LOCKED_SHAREDCACHE)
            if (t instanceof SQLiteException e && ((e.getResultCode().code & 0xFF) == SQLiteErrorCode.SQLITE_BUSY.code
                    || (e.getResultCode().code & 0xFF) == SQLiteErrorCode.SQLITE_LOCKED.code)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Busy because other reads of this server (long listings, exports) held every read connection for the whole wait
     * of a read, not because the database was locked: trying again once they end works.
     */
    public boolean readConnectionsHeld() {
        return readConnectionsHeld;
    }

    /**
     * SQLite could not write for want of space (SQLITE_FULL: the disk of the database is full): the change was rolled
     * back, and it works again once there is room.
     */
    public boolean diskFull() {
        for (Throwable t = getCause(); t != null; t = t.getCause()) {
            if (t instanceof SQLiteException e && (e.getResultCode().code & 0xFF) == SQLiteErrorCode.SQLITE_FULL.code) {
                return true;
            }
        }
        return false;
    }

    private static boolean corruptOrNotADatabase(Throwable cause) {
        for (Throwable t = cause; t != null; t = t.getCause()) {
            // the primary code (low byte) covers the extended ones (SQLITE_CORRUPT_INDEX, _SEQUENCE, _VTAB)
            if (t instanceof SQLiteException e && ((e.getResultCode().code & 0xFF) == SQLiteErrorCode.SQLITE_CORRUPT.code
                    || (e.getResultCode().code & 0xFF) == SQLiteErrorCode.SQLITE_NOTADB.code)) {
                return true;
            }
        }
        return false;
    }
}
