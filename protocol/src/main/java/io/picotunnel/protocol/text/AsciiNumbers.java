package io.picotunnel.protocol.text;

/**
 * Numbers written in ASCII digits, as settings, addresses, escapes and the wire take them. Not
 * {@link Integer#parseInt} or {@link Character#digit} alone: they also read other scripts' digits ("٨٠٨٠",
 * Arabic-Indic, as 8080; U+FF15 FULLWIDTH DIGIT FIVE as 5; U+FF21 FULLWIDTH A as hex 10), so a value that no other
 * program reads as a number would be taken as one.
 */
public final class AsciiNumbers {

    private AsciiNumbers() {
    }

    /** Whether {@code text} is one or more of the digits 0 to 9, and nothing else. */
    public static boolean isDigits(CharSequence text) {
        return !text.isEmpty() && text.chars().allMatch(AsciiNumbers::isDigit);
    }

    /**
     * {@link Integer#parseInt}, for ASCII digits with an optional leading sign only; throws
     * {@link NumberFormatException} for anything else, null too.
     */
    public static int parseInt(String text) {
        if (text == null) {
            throw new NumberFormatException("Cannot parse null string: null");
        }
        String digits = text.startsWith("-") || text.startsWith("+") ? text.substring(1) : text;
        if (!isDigits(digits)) {
            throw new NumberFormatException("not a whole number in ASCII digits: " + ControlCharacters.bounded(text));
        }
        return Integer.parseInt(text);
    }

    /** The value of the hex digit {@code c} (0-9, a-f, A-F), or -1. */
    public static int hexDigit(int c) {
        return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ? Character.digit(c, 16) : -1;
    }

    private static boolean isDigit(int c) {
        return c >= '0' && c <= '9';
    }
}
