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
    private volatile boolean down;

    public SwitchableRelay(int targetPort) {
        this.targetPort = targetPort;
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

    public void down() {
        down = true;
        sockets.forEach(SwitchableRelay::closeQuietly);
        sockets.clear();
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
            sockets.add(visitor);
            sockets.add(target);
            Thread.ofVirtual().name("relay-out").start(() -> pipe(visitor, target));
            Thread.ofVirtual().name("relay-back").start(() -> pipe(target, visitor));
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

    @Override
    public void close() {
        closeQuietly(listener);
        sockets.forEach(SwitchableRelay::closeQuietly);
    }
}
