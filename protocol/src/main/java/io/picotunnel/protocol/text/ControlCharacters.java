package io.picotunnel.protocol.text;

/**
 * Text from a user or the network made safe to quote in a message or a log line: its control characters written out,
 * so that none moves the cursor, ends the line or forges another.
 */
public final class ControlCharacters {

    private ControlCharacters() {
    }

    /**
     * {@code text} with every control character (C0, DEL, C1, line and paragraph separators) written as {@code \n},
     * {@code \r}, {@code \t} or a Java-style unicode escape.
     */
    public static String escape(String text) {
        StringBuilder b = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean control = isControl(c);
            if (control && b == null) {
                b = new StringBuilder(text.length() + 16).append(text, 0, i);
            }
            if (b != null) {
                if (!control) {
                    b.append(c);
                } else if (c == '\n') {
                    b.append("\\n");
                } else if (c == '\r') {
                    b.append("\\r");
                } else if (c == '\t') {
                    b.append("\\t");
                } else {
                    b.append(String.format("\\u%04x", (int) c));
                }
            }
        }
        return b == null ? text : b.toString();
    }

    private static boolean isControl(char c) {
        return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == '\u2028' || c == '\u2029';
    }
}
