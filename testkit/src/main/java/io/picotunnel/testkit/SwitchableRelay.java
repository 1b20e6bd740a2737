package io.picotunnel.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP relay on 127.0.0.1 to a port of 127.0.0.1, bytes as they come (an HTTP server behind it sees the relay's
 * address in the Host header). {@link #down()} makes it stand for a server that is down: every connection, new or
 * open, is closed at once; {@link #up()} brings it back on the same port (where the server behind it could not come
 * back itself while its old connections are in TIME_WAIT).
 */
public final class SwitchableRelay implements AutoCloseable {

    private final ServerSocket listener;
    private final int targetPort;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final Runnable beforeRegistering;
    /**
     * Guards {@link #down}, {@link #downs} and {@link #closed} with the registering of a connection, so that down() and
     * close() close every one accepted before they return.
     */
    private final Object lock = new Object();
    private volatile boolean down;
    /** How many times down() was called: a connection accepted before the last one is not kept, even after up(). */
    private volatile long downs;
    private boolean closed;

    public SwitchableRelay(int targetPort) {
        this(targetPort, () -> { });
    }

    /** {@code beforeRegistering} runs once a connection's target is reached, before the relay keeps both sockets. */
    SwitchableRelay(int targetPort, Runnable beforeRegistering) {
        this.targetPort = targetPort;
        this.beforeRegistering = beforeRegistering;
        try {
            listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Thread.ofVirtual().name("relay-accept").start(this::accept);
    }

    public int port() {
        return listener.getLocalPort();
    }

    /** Closes every connection accepted before it returns, and every new one until {@link #up()}. */
    public void down() {
        List<Socket> open;
        synchronized (lock) {
            down = true;
            downs++;
            open = List.copyOf(sockets);
            sockets.clear();
        }
        open.forEach(SwitchableRelay::closeQuietly);
    }

    public void up() {
        down = false;
    }

    private void accept() {
        while (!listener.isClosed()) {
            Socket visitor;
            try {
                visitor = listener.accept();
            } catch (IOException e) {
                return; // closed
            }
            long downsWhenAccepted = downs;
            if (down) {
                closeQuietly(visitor);
                continue;
            }
            Socket target;
            try {
                target = new Socket(InetAddress.getLoopbackAddress(), targetPort);
            } catch (IOException e) {
                closeQuietly(visitor);
                continue;
            }
            beforeRegistering.run();
            if (!register(visitor, target, downsWhenAccepted)) {
                // down() or close() came while the target was being reached.
                closeQuietly(visitor);
                closeQuietly(target);
                continue;
            }
            Thread.ofVirtual().name("relay-out").start(() -> pipe(visitor, target));
            Thread.ofVirtual().name("relay-back").start(() -> pipe(target, visitor));
        }
    }

    private boolean register(Socket visitor, Socket target, long downsWhenAccepted) {
        synchronized (lock) {
            if (down || closed || downs != downsWhenAccepted) {
                return false;
            }
            sockets.add(visitor);
            sockets.add(target);
            return true;
        }
    }

    private static void pipe(Socket from, Socket to) {
        byte[] buffer = new byte[16 * 1024];
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            int n;
            while ((n = in.read(buffer)) >= 0) {
                out.write(buffer, 0, n);
                out.flush();
            }
        } catch (IOException e) {
            // one side went: both go
        } finally {
            closeQuietly(from);
            closeQuietly(to);
        }
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    /** Stops accepting and closes every connection accepted before it returns. */
    @Override
    public void close() {
        List<Socket> open;
        synchronized (lock) {
            closed = true;
            open = List.copyOf(sockets);
            sockets.clear();
        }
        closeQuietly(listener);
        open.forEach(SwitchableRelay::closeQuietly);
    }
}
