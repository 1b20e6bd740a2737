package io.picotunnel.server.store;

/**
 * A listener could not undo a change that was not stored ({@link ServiceListener.Staged#undo}), and has logged it
 * already, with what its service does now: the store adds no line of its own but at DEBUG.
 */
public final class UndoFailedException extends ServiceConflictException {

    public UndoFailedException(String message, Throwable cause) {
        super(message, cause);
    }
}
