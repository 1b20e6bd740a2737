package io.picotunnel.server.net;

import jakarta.servlet.http.HttpServletRequest;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.Optional;

/**
 * A request body of the management port, read with a size limit. A body too large but not by much is read to its end
 * and dropped before the caller answers 413: answered with the body still coming, the connection would close with
 * bytes unread, and the reset that follows takes the answer waiting in the client's socket with it (a client still
 * sending saw "connection reset", not the 413).
 */
public final class LimitedBody {

    /** Largest request body the management port accepts. */
    public static final int MAX_BYTES = 64 * 1024;
    /** Largest body read and dropped before its 413; a larger one is answered at once. */
    public static final int DROPPED_BYTES = 1024 * 1024;
    /**
     * Longest the rest of a body is read and dropped, in all (nginx's {@code lingering_time}): a client sending a
     * byte now and then, each within the idle timeout, held a server thread until the {@link #DROPPED_BYTES}.
     */
    public static final Duration DROP_TIME = Duration.ofSeconds(30);

    private static final String READ = LimitedBody.class.getName() + ".read";

    private LimitedBody() {
    }

    /**
     * The body of {@code request}, or empty when it is larger than {@link #MAX_BYTES}: the caller then answers 413, the
     * rest of the body read and dropped by then, unless the client sends it only once asked
     * ({@link #sentOnlyIfAsked}) and declared it too large: then it is never asked for, the body not even opened.
     */
    public static Optional<byte[]> read(HttpServletRequest request) throws IOException {
        long declaredLength = request.getContentLengthLong();
        if (declaredLength > MAX_BYTES && sentOnlyIfAsked(request)) {
            return Optional.empty();
        }
        request.setAttribute(READ, Boolean.TRUE);
        try (InputStream in = request.getInputStream()) {
            return read(in, declaredLength);
        }
    }

    /**
     * Whether {@code request}'s body was read by {@link #read(HttpServletRequest)}, its rest dropped if too large: it is
     * not read again once answered, so a body is read up to {@link #DROPPED_BYTES} in all.
     */
    public static boolean wasRead(HttpServletRequest request) {
        return request.getAttribute(READ) != null;
    }

    /** The body in {@code in}, of {@code declaredLength} bytes (-1: unknown), as {@link #read(HttpServletRequest)}. */
    private static Optional<byte[]> read(InputStream in, long declaredLength) throws IOException {
        if (declaredLength > MAX_BYTES) {
            if (declaredLength <= DROPPED_BYTES) {
                dropRest(in);
            }
            return Optional.empty();
        }
        byte[] bytes = in.readNBytes(MAX_BYTES + 1);
        if (bytes.length > MAX_BYTES) {
            dropRest(in, DROPPED_BYTES - bytes.length); // the bound counts what was read
            return Optional.empty();
        }
        return Optional.of(bytes);
    }

    /**
     * Whether the client sends the body only once asked ({@code Expect: 100-continue}): Jetty asks with
     * {@code 100 Continue} at the first look at the body, even one only to drop it; answered without a look, the
     * client sends none.
     */
    public static boolean sentOnlyIfAsked(HttpServletRequest request) {
        return "100-continue".equalsIgnoreCase(request.getHeader("Expect"));
    }

    /**
     * Reads and drops up to {@link #DROPPED_BYTES} of what is left of {@code in}, for up to {@link #DROP_TIME}: until
     * its end, a failure or either bound (a read already waiting ends by the idle timeout).
     */
    public static void dropRest(InputStream in) {
        dropRest(in, DROPPED_BYTES);
    }

    private static void dropRest(InputStream in, long most) {
        byte[] sink = new byte[8192];
        long left = most;
        long deadline = System.nanoTime() + DROP_TIME.toNanos();
        try {
            for (int n; left > 0 && System.nanoTime() - deadline < 0
                    && (n = in.read(sink, 0, (int) Math.min(sink.length, left))) >= 0; ) {
                left -= n;
            }
        } catch (IOException e) {
            // The client went away or stalled past the idle timeout: the answer is all there is to say.
        }
    }
}
