package io.picotunnel.server.net;

import io.picotunnel.protocol.text.ControlCharacters;

/**
 * Values from the network made safe for one log line: no control characters (no forged lines), no invisible formatting
 * characters (no text reordered or hidden), bounded length.
 */
public final class LogValues {

    /** Longest value logged; the rest is cut and marked. */
    static final int MAX_LENGTH = 200;

    private LogValues() {
    }

    /** {@code value} as {@link ControlCharacters#escape} writes it, cut after {@value #MAX_LENGTH} characters; "null" for null. */
    public static String escape(Object value) {
        String s = String.valueOf(value);
        if (s.length() <= MAX_LENGTH) {
            return ControlCharacters.escape(s);
        }
        return ControlCharacters.escape(s.substring(0, MAX_LENGTH)) + "...(" + s.length() + " chars)";
    }
}
