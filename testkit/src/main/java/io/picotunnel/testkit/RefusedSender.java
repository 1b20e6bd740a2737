package io.picotunnel.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A client that goes on sending while a server refuses it: for the tests of a lingering close, which must let such
 * a client read the whole answer. A close with the client's bytes unread sends a TCP reset instead of the end of
 * the stream, and the client's read then fails with {@code SocketException: Connection reset}.
 */
public final class RefusedSender {

    /** The most of the answer read: an answer is an error page, far less. */
    private static final int MAX_ANSWER = 1024 * 1024;
    /** How long the sender may go on after the answer's end (its writes fail once the server closed). */
    private static final long SENDER_END_SECONDS = 10;

    private RefusedSender() {
    }

    /**
     * Sends {@code head} and then {@code bodyBytes} bytes 'a' from another thread, without waiting for the answer,
     * while reading the answer up to the end of the connection (or 1 MiB); returns it once the sending ended too
     * (its write failed when the server closed: either way), at most 10 s later. The socket stays open.
     */
    public static String send(Socket socket, String head, int bodyBytes) throws IOException {
        OutputStream out = socket.getOutputStream();
        byte[] request = Arrays.copyOf(head.getBytes(StandardCharsets.ISO_8859_1), head.length() + bodyBytes);
        Arrays.fill(request, head.length(), request.length, (byte) 'a');
        ExecutorService sender = Executors.newSingleThreadExecutor();
        try {
            Future<?> sending = sender.submit(() -> {
                out.write(request);
                out.flush();
                return null;
            });
            String answer = readToEnd(socket.getInputStream());
            try {
                sending.get(SENDER_END_SECONDS, TimeUnit.SECONDS);
            } catch (ExecutionException | TimeoutException e) {
                // the server closed meanwhile (the answer tells how), or it reads no more: the caller goes on
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return answer;
        } finally {
            sender.shutdownNow();
        }
    }

    private static String readToEnd(InputStream in) throws IOException {
        ByteArrayOutputStream answer = new ByteArrayOutputStream();
        byte[] buffer = new byte[8192];
        int n;
        while (answer.size() < MAX_ANSWER && (n = in.read(buffer)) >= 0) {
            answer.write(buffer, 0, n);
        }
        return answer.toString(StandardCharsets.ISO_8859_1);
    }
}
