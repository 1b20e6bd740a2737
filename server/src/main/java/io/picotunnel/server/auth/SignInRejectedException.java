package io.picotunnel.server.auth;

/**
 * A sign-in that must not go through; the message is shown on the UI's sign-in page (its users run the server) and
 * names no secret. A service's visitors are shown {@link #visitorMessage()} instead.
 */
public final class SignInRejectedException extends Exception {

    /** What a visitor of a service is told when the server's sign-in is set up wrong: nothing they can change. */
    public static final String NOT_SET_UP = "Single sign-on is not set up correctly on this server; tell its"
            + " administrator.";
    private static final String TRY_AGAIN = " Please try again in a moment.";

    public SignInRejectedException(String message) {
        this(message, null);
    }

    public SignInRejectedException(String message, Throwable cause) {
        this(message, message, null, false, cause);
    }

    /** For the log: the message without the advice to the user (who tries again). */
    private final String logged;
    /** For a service's visitors; null where the message itself does. */
    private final String visitorMessage;
    private final boolean providerUnavailable;

    private SignInRejectedException(String message, String logged, String visitorMessage, boolean providerUnavailable,
            Throwable cause) {
        super(message, cause);
        this.logged = logged;
        this.visitorMessage = visitorMessage;
        this.providerUnavailable = providerUnavailable;
    }

    /**
     * The provider could not be reached, or did not answer in time, or said it was unavailable: nothing is wrong with
     * the user's sign-in. {@code what}: what happened, as a sentence; the message adds that they may try again.
     */
    public static SignInRejectedException providerUnavailable(String what, Throwable cause) {
        return new SignInRejectedException(what + TRY_AGAIN, what, null, true, cause);
    }

    /**
     * The server's sign-in settings do not match the provider (its issuer, its client): the message says which to
     * check, for the administrators who sign in to the UI; a service's visitors are only told it is not set up.
     */
    public static SignInRejectedException misconfigured(String message, Throwable cause) {
        return new SignInRejectedException(message, message, NOT_SET_UP, false, cause);
    }

    public boolean providerUnavailable() {
        return providerUnavailable;
    }

    /** What a visitor of a service is shown, where the UI's page shows {@link #getMessage()}. */
    public String visitorMessage() {
        return visitorMessage == null ? getMessage() : visitorMessage;
    }

    /** The same refusal, thrown again on another thread (with this thread's stack). */
    SignInRejectedException copy() {
        return new SignInRejectedException(getMessage(), logged, visitorMessage, providerUnavailable, getCause());
    }

    /**
     * For the log: what happened (without the advice to try again, which is the user's) and what caused it (a
     * timeout, a refused connection, the discovery document's issuer that is not the one configured), which the
     * message shown to users leaves out; printable ASCII, one line.
     */
    public String withCause() {
        Throwable cause = getCause();
        if (cause == null) {
            return logged;
        }
        String text = cause.getMessage() == null || cause.getMessage().isBlank()
                ? cause.getClass().getSimpleName() : cause.getMessage().replaceAll("[^\\x20-\\x7e]", "?");
        return logged + " (" + (text.length() > 300 ? text.substring(0, 300) + "..." : text) + ")";
    }
}
