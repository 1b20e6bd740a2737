package io.picotunnel.server.e2e;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Takes many uploads at once: of a request to {@code /fast} it reads the whole body and answers 200 with the body's
 * length; of one to {@code /drain} it reads the body and drops it, never answering; of any other it reads the head
 * and then nothing more, holding the connection until closed, having answered the head of a 200 (and nothing of its
 * body) when the path starts with {@code /answered}. Accepts at most {@link #MAX_CONNECTIONS}.
 */
final class StallingUploadTarget implements AutoCloseable {

    private static final int MAX_CONNECTIONS = 256;

    private final AtomicInteger stalled = new AtomicInteger();
    private final UploadTargetListener listener;
    private final AtomicInteger draining = new AtomicInteger();
    /** The connections of the requests stalled, in the order their heads came. */
    private final List<Socket> stalledConnections = new CopyOnWriteArrayList<>();

    StallingUploadTarget() throws IOException {
        listener = new UploadTargetListener("stalling-target", MAX_CONNECTIONS, this::serve);
    }

    int port() {
        return listener.port();
    }

    /** The requests whose head it read and whose body it reads none of. */
    int stalled() {
        return stalled.get();
    }

    /** The requests to {@code /drain} whose head it read, and whose body it reads and drops. */
    int draining() {
        return draining.get();
    }

    private void serve(Socket socket) {
        try {
            socket.setSoTimeout(60_000);
            InputStream in = new BufferedInputStream(socket.getInputStream());
            String requestLine = FaultTarget.readLine(in);
            long length = Uploads.readContentLength(in);
            if (requestLine != null && requestLine.split(" ")[1].startsWith("/drain")) {
                draining.incrementAndGet();
                in.skipNBytes(length); // and no answer: the socket stays open until close()
                return;
            }
            OutputStream out = socket.getOutputStream();
            if (requestLine == null || !requestLine.split(" ")[1].startsWith("/fast")) {
                if (requestLine != null && requestLine.split(" ")[1].startsWith("/answered")) {
                    out.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                }
                stalledConnections.add(socket);
                stalled.incrementAndGet();
                return; // the socket stays open, unread, until close()
            }
            in.skipNBytes(length);
            String body = Long.toString(length);
            out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body)
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
        } catch (IOException e) {
            // the proxy ended the stream
        }
    }

    /**
     * Reads the rest of what came on the connection of the {@code n}th stalled request (from 0) and says how it ended:
     * "reset", "eof" (a FIN), or "open" when nothing came for 10 s. What it reads, a body cut short, is dropped.
     */
    String readToEnd(int n) {
        Socket socket = stalledConnections.get(n);
        try {
            socket.setSoTimeout(10_000);
            InputStream in = socket.getInputStream();
            byte[] buffer = new byte[64 * 1024];
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
            while (System.nanoTime() - deadline < 0) {
                if (in.read(buffer) < 0) {
                    return "eof";
                }
            }
            return "open";
        } catch (SocketTimeoutException e) {
            return "open";
        } catch (IOException e) {
            return "reset";
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
    }
}
