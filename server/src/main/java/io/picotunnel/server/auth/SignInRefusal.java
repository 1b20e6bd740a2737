package io.picotunnel.server.auth;

/**
 * Why an OIDC sign-in did not go through, as its log line says: a script can repeat a refused sign-in as fast as the
 * provider answers, so each cause has at most one line a minute ({@link io.picotunnel.server.net.KeyedRefusalLog}),
 * and a flood of one cause does not hide another.
 */
public enum SignInRefusal {
    /** The provider could not be asked where to send the browser. */
    COULD_NOT_START,
    /** The callback came to a browser other than the one that started the sign-in. */
    OTHER_BROWSER,
    /** The provider refused the code, or its ID token failed the checks. */
    REJECTED,
    /** The provider could not be reached to trade the code. */
    PROVIDER_UNAVAILABLE,
    /** A service's sign-in, whose user has no verified email. */
    NO_VERIFIED_EMAIL,
    /** The user's email or name holds a line break or another control character. */
    CONTROL_CHARACTER,
    /** The user is not on the allow list. */
    NOT_ALLOWED,
    /** A service's one-time link opened in a browser that did not start its sign-in. */
    LINK_IN_OTHER_BROWSER;

    public static SignInRefusal of(SignInRejectedException e) {
        return e.providerUnavailable() ? PROVIDER_UNAVAILABLE : REJECTED;
    }
}
