package io.picotunnel.server.auth;

/** A sign-in that must not go through; the message is shown to the user and names no secret. */
public final class SignInRejectedException extends Exception {

    public SignInRejectedException(String message) {
        super(message);
    }

    public SignInRejectedException(String message, Throwable cause) {
        super(message, cause);
    }

    /**
     * For the log: the message and what caused it (a timeout, a refused connection, the discovery document's issuer
     * that is not the one configured), which the message shown to users leaves out; printable ASCII, one line.
     */
    public String withCause() {
        Throwable cause = getCause();
        if (cause == null) {
            return getMessage();
        }
        String text = cause.getMessage() == null || cause.getMessage().isBlank()
                ? cause.getClass().getSimpleName() : cause.getMessage().replaceAll("[^\\x20-\\x7e]", "?");
        return getMessage() + " (" + (text.length() > 300 ? text.substring(0, 300) + "..." : text) + ")";
    }
}
