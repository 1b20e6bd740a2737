package io.picotunnel.protocol.config;

/**
 * The characters a token may have, the client's and the server's admin token alike: printable ASCII without spaces
 * ({@code !} to {@code ~}), which a header carries as they are. Each caller says its own lengths and its own message.
 */
public final class PrintableToken {

    private PrintableToken() {
    }

    /** Whether {@code c} is printable ASCII and not a space. */
    public static boolean isPrintable(int c) {
        return c > 0x20 && c < 0x7f;
    }

    /** Why a string is not a token, for a caller to word: the first of these it fails, in this order. */
    public enum Flaw {
        TOO_SHORT,
        TOO_LONG,
        /** A character that is not {@link #isPrintable}. */
        NOT_PRINTABLE
    }

    /** Whether {@code token} has from {@code minLength} to {@code maxLength} characters, all {@link #isPrintable}. */
    public static boolean isToken(String token, int minLength, int maxLength) {
        return flaw(token, minLength, maxLength) == null;
    }

    /** Why {@code token} is not a token of {@code minLength} to {@code maxLength} characters; null when it is one. */
    public static Flaw flaw(String token, int minLength, int maxLength) {
        if (token.length() < minLength) {
            return Flaw.TOO_SHORT;
        }
        if (token.length() > maxLength) {
            return Flaw.TOO_LONG;
        }
        return token.chars().allMatch(PrintableToken::isPrintable) ? null : Flaw.NOT_PRINTABLE;
    }
}
