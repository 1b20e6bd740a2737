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
    /** A user without a verified email: at a service's sign-in, or at the UI's with the email on its allow list. */
    NO_VERIFIED_EMAIL,
    /**
     * The user's email or name holds a control or invisible formatting character: a line break, a bidi override, a
     * zero-width space ({@link io.picotunnel.protocol.text.ControlCharacters#firstHidden}).
     */
    CONTROL_CHARACTER,
    /** The user is not on the allow list. */
    NOT_ALLOWED,
    /** A service's one-time link opened in a browser that did not start its sign-in. */
    LINK_IN_OTHER_BROWSER;

    /** The message part for such a character: {@code "control or invisible formatting character U+202E"}. */
    public static String describe(int codePoint) {
        return String.format("control or invisible formatting character U+%04X", codePoint);
    }

    public static SignInRefusal of(SignInRejectedException e) {
        return e.providerUnavailable() ? PROVIDER_UNAVAILABLE : REJECTED;
    }
}
