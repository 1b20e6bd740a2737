package io.picotunnel.server.store;

/**
 * A listener refused a service change because another program holds the listen address. When the store chose that
 * port itself (the service asked for any), it chooses another instead of refusing the change.
 */
public final class PortInUseException extends ServiceConflictException {

    public PortInUseException(String message, Throwable cause) {
        super(message, cause);
    }
}
