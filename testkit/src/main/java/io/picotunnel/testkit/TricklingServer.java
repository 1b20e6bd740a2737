package io.picotunnel.testkit;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An HTTP server on 127.0.0.1 that answers every request a byte a second (a 200 with a JSON body of a few hundred
 * bytes): each read gets a byte well within any read timeout, the whole answer takes minutes. Stands for a server
 * that holds its clients by trickling. Bounded: at most {@link #MAX_CONNECTIONS} connections, each closed after
 * its last byte.
 */
public final class TricklingServer implements AutoCloseable {

    public static final int MAX_CONNECTIONS = 20;
    private static final byte[] ANSWER;

    static {
        String body = "{\"padding\":\"" + "x".repeat(300) + "\"}";
        ANSWER = ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + body.length()
                + "\r\n\r\n" + body).getBytes(StandardCharsets.US_ASCII);
    }

    private final ServerSocket listener;
    private final ScheduledExecutorService pacer = Executors.newSingleThreadScheduledExecutor(task -> {
        Thread t = new Thread(task, "trickling-server");
        t.setDaemon(true);
        return t;
    });
    private final List<Socket> connections = new CopyOnWriteArrayList<>();
    private final AtomicInteger accepted = new AtomicInteger();

    public TricklingServer() {
        try {
            listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Thread.ofVirtual().name("trickling-accept").start(this::accept);
    }

    /** {@code http://127.0.0.1:port}. */
    public String url() {
        return "http://127.0.0.1:" + listener.getLocalPort();
    }

    /** Connections accepted so far. */
    public int accepted() {
        return accepted.get();
    }

    /** Connections not closed yet, by either side. */
    public long open() {
        return connections.stream().filter(s -> !s.isClosed()).count();
    }

    private void accept() {
        while (accepted.get() < MAX_CONNECTIONS) {
            Socket socket;
            try {
                socket = listener.accept();
            } catch (IOException e) {
                return; // closed
            }
            accepted.incrementAndGet();
            connections.add(socket);
            AtomicInteger sent = new AtomicInteger();
            pacer.scheduleAtFixedRate(() -> {
                int next = sent.getAndIncrement();
                try {
                    if (next >= ANSWER.length) {
                        socket.close();
                        throw new IllegalStateException("done"); // ends this schedule
                    }
                    OutputStream out = socket.getOutputStream();
                    out.write(ANSWER[next]);
                    out.flush();
                } catch (IOException e) {
                    closeQuietly(socket);
                    throw new IllegalStateException("the client left", e); // ends this schedule
                }
            }, 0, 1, TimeUnit.SECONDS);
        }
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    @Override
    public void close() {
        pacer.shutdownNow();
        closeQuietly(listener);
        connections.forEach(TricklingServer::closeQuietly);
    }

    private static void closeQuietly(ServerSocket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
