package io.picotunnel.server.store;

import org.junit.jupiter.api.Test;
import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;

import static org.assertj.core.api.Assertions.assertThat;

/** What a {@link StoreException} makes of the SQLite error behind it. */
class StoreExceptionTest {

    private static StoreException of(SQLiteErrorCode code) {
        return new StoreException("Database error: " + code.message, new SQLiteException(code.message, code));
    }

    @Test
    void everyKindOfCorruptionMakesTheDatabaseUnusableNotWorthARestart() {
        // SQLite reports a corrupt index as SQLITE_CORRUPT_INDEX (quick_check does not compare indexes with their
        // tables, so a migration can meet it): it ended with exit code 1, and systemd restarted into it for ever.
        for (SQLiteErrorCode code : new SQLiteErrorCode[] {SQLiteErrorCode.SQLITE_CORRUPT, SQLiteErrorCode.SQLITE_CORRUPT_INDEX,
                SQLiteErrorCode.SQLITE_CORRUPT_SEQUENCE, SQLiteErrorCode.SQLITE_CORRUPT_VTAB, SQLiteErrorCode.SQLITE_NOTADB}) {
            assertThat(of(code).unusable()).as(code.name()).isTrue();
        }
    }

    @Test
    void whatTryingAgainCanMendIsNotUnusable() {
        for (SQLiteErrorCode code : new SQLiteErrorCode[] {SQLiteErrorCode.SQLITE_BUSY, SQLiteErrorCode.SQLITE_FULL,
                SQLiteErrorCode.SQLITE_IOERR_WRITE, SQLiteErrorCode.SQLITE_READONLY}) {
            assertThat(of(code).unusable()).as(code.name()).isFalse();
        }
    }
}
