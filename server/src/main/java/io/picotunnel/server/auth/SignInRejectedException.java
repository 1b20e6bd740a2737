package io.picotunnel.server.auth;

/** A sign-in that must not go through; the message is shown to the user and names no secret. */
public final class SignInRejectedException extends Exception {

    public SignInRejectedException(String message) {
        this(message, null, false);
    }

    public SignInRejectedException(String message, Throwable cause) {
        this(message, cause, false);
    }

    private final boolean providerUnavailable;

    private SignInRejectedException(String message, Throwable cause, boolean providerUnavailable) {
        super(message, cause);
        this.providerUnavailable = providerUnavailable;
    }

    /** The provider could not be reached, or did not answer in time: nothing is wrong with the user's sign-in. */
    public static SignInRejectedException providerUnavailable(String message, Throwable cause) {
        return new SignInRejectedException(message, cause, true);
    }

    public boolean providerUnavailable() {
        return providerUnavailable;
    }

    /** The same refusal, thrown again on another thread (with this thread's stack). */
    SignInRejectedException copy() {
        return new SignInRejectedException(getMessage(), getCause(), providerUnavailable);
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
