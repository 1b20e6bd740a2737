package io.picotunnel.server.net;

import io.picotunnel.protocol.config.Durations;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.io.EndPoint;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A request body of the management port, read with a size limit. Only up to the limit is read here: what is left of a
 * body too large is read and dropped once the answer is sent, by the management port's one drain (the
 * {@code UnreadBodyDrain} filter), as for every answer given before its body was read.
 */
public final class LimitedBody {

    /** Largest request body the management port accepts. */
    public static final int MAX_BYTES = 64 * 1024;
    /** Largest body read and dropped, in all, once answered; a body declared larger is answered and closed at once. */
    public static final int DROPPED_BYTES = 1024 * 1024;
    /**
     * Longest the rest of a body is read and dropped, in all (nginx's {@code lingering_time}): a client sending a
     * byte now and then, each within the idle timeout, held a server thread until the {@link #DROPPED_BYTES}.
     */
    public static final Duration DROP_TIME = Duration.ofSeconds(30);
    /**
     * Longest a body is read before its answer, in all (nginx's {@code client_body_timeout} bounds only each read): a
     * client sending a byte now and then, each within the idle timeout, held a server thread for days.
     */
    public static final Duration READ_TIME = Duration.ofSeconds(30);

    /**
     * The body did not arrive within its read time: the caller answers with {@link #answer}'s status and its own
     * body, and the connection closes after it.
     */
    public static final class TooSlow extends IOException {
        /** The request attribute {@link #answer} sets: what {@link #answered} looks for. */
        private static final String ANSWERED = TooSlow.class.getName() + ".answered";

        TooSlow(Duration readTime) {
            super("the request body did not arrive within " + Durations.format(readTime) + " in all");
        }

        /**
         * Marks {@code request} as answered too slow and sets {@code response} to end the connection after it, and
         * returns its status, 408: what is left of the body is not waited on further ({@link #answered}).
         */
        public int answer(ServletRequest request, HttpServletResponse response) {
            request.setAttribute(ANSWERED, Boolean.TRUE);
            response.setHeader("Connection", "close");
            return HttpServletResponse.SC_REQUEST_TIMEOUT;
        }

        /**
         * Whether {@code request} got the {@link #answer} to a body too slow. A request attribute, not the answer's
         * {@code Connection: close}: an answer may close its connection for other reasons, and its body's rest is
         * then still dropped.
         */
        public static boolean answered(ServletRequest request) {
            return request.getAttribute(ANSWERED) != null;
        }
    }

    private LimitedBody() {
    }

    /**
     * The body of {@code request}, or empty when it is larger than {@link #MAX_BYTES}: the caller then answers 413. A
     * body declared too large is not even opened (a client that sends it only once asked, {@link #sentOnlyIfAsked},
     * is then never asked); one found too large is read up to one byte past the limit. Throws {@link TooSlow} when the
     * body takes longer than {@link #READ_TIME}.
     */
    public static Optional<byte[]> read(HttpServletRequest request) throws IOException {
        return read(request, READ_TIME);
    }

    /** {@link #read(HttpServletRequest)} within {@code readTime}. */
    public static Optional<byte[]> read(HttpServletRequest request, Duration readTime) throws IOException {
        if (request.getContentLengthLong() > MAX_BYTES) {
            return Optional.empty();
        }
        // Not closed: what is left of a body too large is read and dropped after the answer.
        InputStream in = request.getInputStream();
        byte[] bytes = new byte[MAX_BYTES + 1];
        int length = 0;
        try (Deadline deadline = new Deadline(request, readTime)) {
            for (int n; length < bytes.length && (n = deadline.read(in, bytes, length, bytes.length - length)) >= 0; ) {
                length += n;
            }
        }
        return length > MAX_BYTES ? Optional.empty() : Optional.of(Arrays.copyOf(bytes, length));
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
     * Reads and drops up to {@code most} bytes of what is left of {@code request}'s body, for up to {@code dropTime}
     * ({@link #DROP_TIME} on the management port), a read already waiting included: until its end, a failure or
     * either bound.
     */
    public static void dropRest(ServletRequest request, long most, Duration dropTime) {
        byte[] sink = new byte[8192];
        long left = most;
        try (Deadline deadline = new Deadline(request, dropTime)) {
            InputStream in = request.getInputStream();
            for (int n; left > 0 && (n = deadline.read(in, sink, 0, (int) Math.min(sink.length, left))) >= 0; ) {
                left -= n;
            }
        } catch (IOException e) {
            // The client went away, stalled or kept sending past the drop time: the answer is all there is to say.
        }
    }

    /**
     * Reads of one request's body, all of them ending within {@code time} from the first: a blocking read ends only by
     * its connection's idle timeout, so each read has it shortened to the time left, and closing gives it back.
     */
    private static final class Deadline implements AutoCloseable {
        private final Duration time;
        private final long end;
        private final EndPoint endPoint;
        private final long idleTimeout;

        Deadline(ServletRequest request, Duration time) {
            this.time = time;
            this.end = System.nanoTime() + time.toNanos();
            this.endPoint = ServletContextRequest.getServletContextRequest(request).getConnectionMetaData()
                    .getConnection().getEndPoint();
            this.idleTimeout = endPoint.getIdleTimeout();
        }

        /** {@code in.read} of up to {@code length} bytes; throws {@link TooSlow} once the time is out. */
        int read(InputStream in, byte[] buffer, int offset, int length) throws IOException {
            long leftMillis = TimeUnit.NANOSECONDS.toMillis(end - System.nanoTime() + 999_999); // rounded up
            if (leftMillis <= 0) {
                throw new TooSlow(time);
            }
            endPoint.setIdleTimeout(idleTimeout > 0 ? Math.min(idleTimeout, leftMillis) : leftMillis);
            try {
                return in.read(buffer, offset, length);
            } catch (IOException e) {
                throw end - System.nanoTime() <= 0 ? new TooSlow(time) : e;
            }
        }

        @Override
        public void close() {
            endPoint.setIdleTimeout(idleTimeout);
        }
    }
}
