package io.picotunnel.server.store;

/** The database failed in a way the caller cannot fix (I/O error, corrupt file). */
public final class StoreException extends RuntimeException {

    public StoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
