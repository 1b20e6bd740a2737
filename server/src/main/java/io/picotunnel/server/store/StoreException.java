package io.picotunnel.server.store;

import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;

/** The database failed in a way the caller cannot fix (I/O error, corrupt file). */
public final class StoreException extends RuntimeException {

    private final boolean unusable;

    /** Unusable when SQLite says the file is corrupt or not a database. */
    public StoreException(String message, Throwable cause) {
        this(message, cause, corruptOrNotADatabase(cause));
    }

    /** @param unusable trying again cannot help: the file is corrupt, another program's, or from a newer version */
    public StoreException(String message, Throwable cause, boolean unusable) {
        super(message, cause);
        this.unusable = unusable;
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
        for (Throwable t = getCause(); t != null; t = t.getCause()) {
            // the primary code (low byte) covers the extended ones (SQLITE_BUSY_SNAPSHOT, SQLITE_LOCKED_SHAREDCACHE)
            if (t instanceof SQLiteException e && ((e.getResultCode().code & 0xFF) == SQLiteErrorCode.SQLITE_BUSY.code
                    || (e.getResultCode().code & 0xFF) == SQLiteErrorCode.SQLITE_LOCKED.code)) {
                return true;
            }
        }
        return false;
    }

    private static boolean corruptOrNotADatabase(Throwable cause) {
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof SQLiteException e && (e.getResultCode() == SQLiteErrorCode.SQLITE_CORRUPT
                    || e.getResultCode() == SQLiteErrorCode.SQLITE_NOTADB)) {
                return true;
            }
        }
        return false;
    }
}
