package io.picotunnel.server.store;

/** A service change that cannot take effect, such as a listen address already in use. Becomes HTTP 409. */
public class ServiceConflictException extends Exception {

    public ServiceConflictException(String message) {
        super(message);
    }

    public ServiceConflictException(String message, Throwable cause) {
        super(message, cause);
    }
}
