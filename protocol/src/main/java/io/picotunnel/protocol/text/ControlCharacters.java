package io.picotunnel.protocol.text;

import java.util.OptionalInt;

/**
 * Text from a user or the network made safe to quote in a message or a log line: its control and invisible
 * formatting characters written out, so that none moves the cursor, ends the line, forges another, or reorders or
 * hides the text around it.
 */
public final class ControlCharacters {

    /** Longest text {@link #bounded} writes out; the rest is cut and its length said. */
    public static final int MAX_SHOWN = 200;

    private ControlCharacters() {
    }

    /**
     * {@code text} as a message or a log line quotes it: in single quotes, {@link #bounded}. Every setting's value in
     * an error and every value from the network in a log line goes through this or {@link #bounded}.
     */
    public static String quoted(String text) {
        return "'" + bounded(text) + "'";
    }

    /**
     * {@code value} as text ("null" for null) {@link #escape escaped} and cut after {@value #MAX_SHOWN} characters,
     * its length then said: how a log line puts a value from the network or a user.
     */
    public static String bounded(Object value) {
        String text = String.valueOf(value);
        if (text.length() <= MAX_SHOWN) {
            return escape(text);
        }
        int end = Character.isHighSurrogate(text.charAt(MAX_SHOWN - 1)) ? MAX_SHOWN - 1 : MAX_SHOWN;
        return escape(text.substring(0, end)) + "...(" + text.length() + " chars)";
    }

    /**
     * {@code text} with every control character (C0, DEL, C1, line and paragraph separators), every formatting
     * character (Unicode category Cf: the bidirectional overrides and isolates U+202A to U+202E and U+2066 to U+2069,
     * the zero-width characters U+200B to U+200F, U+2060 and U+FEFF, the tags U+E0000 to U+E007F) and every unpaired
     * surrogate written as {@code \n}, {@code \r}, {@code \t} or a Java-style unicode escape; a character beyond
     * U+FFFF as the escapes of its two surrogates.
     */
    public static String escape(String text) {
        StringBuilder b = null;
        for (int i = 0; i < text.length(); ) {
            int c = text.codePointAt(i);
            int next = i + Character.charCount(c);
            boolean hidden = isHidden(c);
            if (hidden && b == null) {
                b = new StringBuilder(text.length() + 16).append(text, 0, i);
            }
            if (b != null) {
                if (!hidden) {
                    b.append(text, i, next);
                } else if (c == '\n') {
                    b.append("\\n");
                } else if (c == '\r') {
                    b.append("\\r");
                } else if (c == '\t') {
                    b.append("\\t");
                } else {
                    for (int j = i; j < next; j++) {
                        b.append(String.format("\\u%04x", (int) text.charAt(j)));
                    }
                }
            }
            i = next;
        }
        return b == null ? text : b.toString();
    }

    /** The first character of {@code text} that {@link #escape} writes out, if any; as a code point. */
    public static OptionalInt firstHidden(String text) {
        return text.codePoints().filter(ControlCharacters::isHidden).findFirst();
    }

    /** Whether {@link #escape} writes {@code codePoint} out: a control, formatting or separator character. */
    public static boolean isHidden(int codePoint) {
        return switch (Character.getType(codePoint)) {
            case Character.CONTROL, Character.FORMAT, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR,
                 Character.SURROGATE -> true;
            default -> false;
        };
    }
}
