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

    /** Whether {@code token} has from {@code minLength} to {@code maxLength} characters, all {@link #isPrintable}. */
    public static boolean isToken(String token, int minLength, int maxLength) {
        return token.length() >= minLength && token.length() <= maxLength
                && token.chars().allMatch(PrintableToken::isPrintable);
    }
}
