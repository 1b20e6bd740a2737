package io.picotunnel.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.net.SocketException;
import java.time.Duration;

/**
 * How a socket's input ended for a reader that read it to its end: {@code bytes} read before, {@code how} it ended
 * ({@code "eof"}, {@code "reset: "} and the message of the read's {@link SocketException}, or {@code "still open"} and
 * how long it was read when it did not end within the reader's bound).
 */
public record SocketEnding(long bytes, String how) {

    /** How long {@link #readToEndOrReset(InputStream)} reads an input that keeps coming before it gives up. */
    public static final Duration WITHIN = Duration.ofSeconds(60);

    /** Reads {@code in} to its end, for {@link #WITHIN} at most. */
    public static SocketEnding readToEndOrReset(InputStream in) throws IOException {
        return readToEndOrReset(in, WITHIN);
    }

    /**
     * Reads {@code in} to its end, or for {@code within} while its peer keeps sending: the bound is looked at after each
     * read, so a peer that falls silent is left to the socket's read timeout, which the caller sets.
     */
    public static SocketEnding readToEndOrReset(InputStream in, Duration within) throws IOException {
        long deadline = System.nanoTime() + within.toNanos();
        byte[] buffer = new byte[64 * 1024];
        long bytes = 0;
        try {
            int n;
            while ((n = in.read(buffer)) >= 0) {
                bytes += n;
                if (System.nanoTime() - deadline >= 0) {
                    return new SocketEnding(bytes, "still open after " + within.toMillis() + " ms");
                }
            }
            return new SocketEnding(bytes, "eof");
        } catch (SocketException e) {
            return new SocketEnding(bytes, "reset: " + e.getMessage());
        }
    }
}
