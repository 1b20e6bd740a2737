package io.picotunnel.server.auth;

/** A sign-in that must not go through; the message is shown to the user and names no secret. */
public final class SignInRejectedException extends Exception {

    public SignInRejectedException(String message) {
        super(message);
    }

    public SignInRejectedException(String message, Throwable cause) {
        super(message, cause);
    }
}
