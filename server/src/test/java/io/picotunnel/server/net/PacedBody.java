package io.picotunnel.server.net;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * An HTTP request sent on a raw socket with its body paced: the head at once, then one piece of the body each time the
 * server said nothing for {@code pace}, while the answer is read, until the server closes the connection. The pace is
 * what a test of body time limits is about, so each test gives its own.
 *
 * @param piece     sent each time nothing came within {@code pace}
 * @param pace      how long the server may be silent before the next piece goes (the socket's read timeout)
 * @param maxPieces pieces sent at most; past them the client only reads
 * @param maxReads  reads at most, each lasting up to {@code pace}
 * @param within    time at most, from the head sent
 */
public record PacedBody(byte[] piece, Duration pace, long maxPieces, long maxReads, Duration within) {

    /** A space each {@code pace}, for as long as {@code within} and a read each pace allow. */
    public static PacedBody aSpaceEvery(Duration pace, long maxReads, Duration within) {
        return new PacedBody(new byte[] {' '}, pace, Long.MAX_VALUE, maxReads, within);
    }

    /** A space each {@code pace}, for as long as {@code within} allows. */
    public static PacedBody aSpaceEvery(Duration pace, Duration within) {
        return aSpaceEvery(pace, within.dividedBy(pace) + 1, within);
    }

    /**
     * What came back.
     *
     * @param answer     all the server sent, as ISO-8859-1
     * @param closed     whether the server closed or reset the connection before a bound was reached
     * @param piecesSent pieces of the body written
     * @param took       from the head sent to the end
     */
    public record Outcome(String answer, boolean closed, long piecesSent, Duration took) {
    }

    /** Sends {@code head} on a connection of its own to the loopback {@code port}, then the body at this pace. */
    public Outcome sendTo(int port, String head) throws IOException {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
            return send(socket, head);
        }
    }

    /** Sends {@code head} on {@code socket}, connected, then the body at this pace, and reads the answer. */
    public Outcome send(Socket socket, String head) throws IOException {
        socket.setSoTimeout((int) pace.toMillis());
        OutputStream out = socket.getOutputStream();
        out.write(head.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        InputStream in = socket.getInputStream();
        ByteArrayOutputStream answer = new ByteArrayOutputStream();
        byte[] buffer = new byte[4096];
        long start = System.nanoTime();
        long deadline = start + within.toNanos();
        long sent = 0;
        boolean closed = false;
        for (long i = 0; i < maxReads && !closed && System.nanoTime() - deadline < 0; i++) {
            try {
                int n = in.read(buffer);
                if (n < 0) {
                    closed = true;
                } else {
                    answer.write(buffer, 0, n);
                }
            } catch (SocketTimeoutException nothingYet) {
                if (sent >= maxPieces) {
                    continue;
                }
                try {
                    out.write(piece);
                    out.flush();
                    sent++;
                } catch (IOException reset) {
                    closed = true;
                }
            } catch (IOException reset) {
                closed = true;
            }
        }
        return new Outcome(answer.toString(StandardCharsets.ISO_8859_1), closed, sent,
                Duration.ofNanos(System.nanoTime() - start));
    }
}
