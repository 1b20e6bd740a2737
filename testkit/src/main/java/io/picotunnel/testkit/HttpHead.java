package io.picotunnel.testkit;

import java.io.IOException;
import java.io.InputStream;

/** The head of an HTTP/1.1 message read off a raw stream, for tests that speak HTTP by hand. */
public final class HttpHead {

    /** Far above any head a test sends or expects: only a bound on a peer that never ends its head. */
    public static final int MAX = 64 * 1024;

    private HttpHead() {
    }

    /**
     * Reads the start line and fields up to and including the blank line that ends them, byte by byte so that
     * nothing after the head is consumed. Returns what was read, shorter and without the blank line when the
     * stream ended first or {@link #MAX} bytes came without one.
     */
    public static String read(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        int matched = 0;
        while (matched < 4 && head.length() < MAX) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            head.append((char) b);
            matched = b == "\r\n\r\n".charAt(matched) ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        return head.toString();
    }
}
