package io.picotunnel.server.store;

/** Creating one more tunnel or service would pass the server's limit of them. */
public final class LimitReachedException extends RuntimeException {

    public LimitReachedException(String message) {
        super(message, null, false, false);
    }
}
