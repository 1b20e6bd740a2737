package io.picotunnel.protocol.text;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Text with %-escapes decoded as UTF-8, each escape's two hex digits in ASCII. Not {@link java.net.URLDecoder}: up to
 * Java 21 it reads them with {@link Character#digit}, which takes other scripts' digits ("%٤١" as "A"); no other
 * program does.
 */
public final class PercentEscapes {

    private PercentEscapes() {
    }

    /**
     * {@code text} decoded, a '+' kept as it is; invalid UTF-8 becomes U+FFFD.
     *
     * @throws IllegalArgumentException for a '%' not followed by two hex digits
     */
    public static String decode(String text) {
        return decode(text, false);
    }

    /** As {@link #decode(String)}, a '+' read as a space, as in a form or a query ({@link java.net.URLDecoder}). */
    public static String decodeForm(String text) {
        return decode(text, true);
    }

    private static String decode(String text, boolean plusIsSpace) {
        StringBuilder decoded = new StringBuilder(text.length());
        ByteArrayOutputStream escaped = new ByteArrayOutputStream();
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c != '%') {
                decoded.append(escaped.toString(StandardCharsets.UTF_8)).append(plusIsSpace && c == '+' ? ' ' : c);
                escaped.reset();
                continue;
            }
            int high = i + 2 < text.length() ? AsciiNumbers.hexDigit(text.charAt(i + 1)) : -1;
            int low = high < 0 ? -1 : AsciiNumbers.hexDigit(text.charAt(i + 2));
            if (low < 0) {
                throw new IllegalArgumentException("a '%' not followed by two hex digits");
            }
            escaped.write(high * 16 + low);
            i += 2;
        }
        return decoded.append(escaped.toString(StandardCharsets.UTF_8)).toString();
    }
}
