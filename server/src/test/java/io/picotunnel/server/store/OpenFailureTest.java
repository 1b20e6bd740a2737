package io.picotunnel.server.store;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The sentence {@link Database#open} makes of what SQLite says when it cannot open or write the database. */
class OpenFailureTest {

    @TempDir
    Path dir;

    private String said(SQLiteErrorCode code) {
        Path file = dir.resolve("picotunnel.db");
        SQLiteException sqlite = new SQLiteException(code.message, code);
        return Database.openFailure(file, new StoreException("Database error: " + code.message, sqlite)).getMessage();
    }

    @Test
    void aDiskIoErrorSaysToCheckTheDiskNotThePermissions() {
        // Before: "cannot be opened for writing (...): the server's user must be able to write it, ...", which sent
        // the operator of a failing disk to the permissions.
        for (SQLiteErrorCode code : new SQLiteErrorCode[] {SQLiteErrorCode.SQLITE_IOERR, SQLiteErrorCode.SQLITE_IOERR_WRITE,
                SQLiteErrorCode.SQLITE_IOERR_FSYNC}) {
            assertThat(said(code)).as(code.name())
                    .startsWith("The database " + dir.resolve("picotunnel.db") + " cannot be used: SQLite had a disk I/O error")
                    .contains("check the disk and the file system").contains("dmesg")
                    .doesNotContain("must be able to write");
        }
    }

    @Test
    void whatSqliteCannotWriteForOtherReasonsStillSaysWhoMustBeAbleToWriteIt() {
        for (SQLiteErrorCode code : new SQLiteErrorCode[] {SQLiteErrorCode.SQLITE_READONLY, SQLiteErrorCode.SQLITE_CANTOPEN,
                SQLiteErrorCode.SQLITE_PERM}) {
            assertThat(said(code)).as(code.name()).contains("cannot be opened for writing")
                    .contains("the server's user must be able to write it");
        }
    }
}
