package io.picotunnel.server.net;

/** Values from the network made safe for one log line: no control characters (no forged lines), bounded length. */
public final class LogValues {

    /** Longest value logged; the rest is cut and marked. */
    static final int MAX_LENGTH = 200;

    private LogValues() {
    }

    /**
     * {@code value} with every control character (C0, DEL, C1, line and paragraph separators) written as
     * {@code \n}, {@code \r}, {@code \t} or a Java-style unicode escape, cut after {@value #MAX_LENGTH} characters; "null" for null.
     */
    public static String escape(Object value) {
        String s = String.valueOf(value);
        StringBuilder b = null;
        int end = Math.min(s.length(), MAX_LENGTH);
        for (int i = 0; i < end; i++) {
            char c = s.charAt(i);
            boolean control = c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == '\u2028' || c == '\u2029';
            if (control && b == null) {
                b = new StringBuilder(end + 16).append(s, 0, i);
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
        String result = b == null ? s.substring(0, end) : b.toString();
        return s.length() > MAX_LENGTH ? result + "...(" + s.length() + " chars)" : result;
    }
}
