package io.picotunnel.server.net;

import io.picotunnel.protocol.text.ControlCharacters;

/**
 * Values from the network made safe for one log line: no control characters (no forged lines), no invisible formatting
 * characters (no text reordered or hidden), bounded length.
 */
public final class LogValues {

    private LogValues() {
    }

    /** {@code value} as {@link ControlCharacters#bounded} writes it; "null" for null. */
    public static String escape(Object value) {
        return ControlCharacters.bounded(String.valueOf(value));
    }
}
