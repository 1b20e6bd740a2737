package io.picotunnel.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.net.SocketException;

/**
 * How a socket's input ended for a reader that read it to its end: {@code bytes} read before, {@code how} it ended
 * ({@code "eof"}, or {@code "reset: "} and the message of the read's {@link SocketException}).
 */
public record SocketEnding(long bytes, String how) {

    /** Reads {@code in} to its end (its read timeout, if any, still applies). */
    public static SocketEnding readToEndOrReset(InputStream in) throws IOException {
        byte[] buffer = new byte[64 * 1024];
        long bytes = 0;
        try {
            int n;
            while ((n = in.read(buffer)) >= 0) {
                bytes += n;
            }
            return new SocketEnding(bytes, "eof");
        } catch (SocketException e) {
            return new SocketEnding(bytes, "reset: " + e.getMessage());
        }
    }
}
