package io.picotunnel.server.auth;

/**
 * A sign-in that must not go through; the message is shown on the UI's sign-in page (its users run the server) and
 * names no secret. A service's visitors are shown {@link #visitorMessage()} instead.
 */
public final class SignInRejectedException extends Exception {

    /** What a visitor of a service is told when the server's sign-in is set up wrong: nothing they can change. */
    public static final String NOT_SET_UP = "Single sign-on is not set up correctly on this server; tell its"
            + " administrator.";

    public SignInRejectedException(String message) {
        this(message, null);
    }

    public SignInRejectedException(String message, Throwable cause) {
        this(message, null, false, cause);
    }

    /** For a service's visitors; null where the message itself does. */
    private final String visitorMessage;
    private final boolean providerUnavailable;

    private SignInRejectedException(String message, String visitorMessage, boolean providerUnavailable,
            Throwable cause) {
        super(message, cause);
        this.visitorMessage = visitorMessage;
        this.providerUnavailable = providerUnavailable;
    }

    /** The provider could not be reached, or did not answer in time: nothing is wrong with the user's sign-in. */
    public static SignInRejectedException providerUnavailable(String message, Throwable cause) {
        return new SignInRejectedException(message, null, true, cause);
    }

    /**
     * The server's sign-in settings do not match the provider (its issuer, its client): the message says which to
     * check, for the administrators who sign in to the UI; a service's visitors are only told it is not set up.
     */
    public static SignInRejectedException misconfigured(String message, Throwable cause) {
        return new SignInRejectedException(message, NOT_SET_UP, false, cause);
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
        return new SignInRejectedException(getMessage(), visitorMessage, providerUnavailable, getCause());
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
