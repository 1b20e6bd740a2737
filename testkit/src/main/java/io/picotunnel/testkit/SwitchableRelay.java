package io.picotunnel.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A TCP relay on 127.0.0.1 to a port of 127.0.0.1, bytes as they come (an HTTP server behind it sees the relay's
 * address in the Host header). {@link #down()} makes it stand for a server that is down: every connection, new or
 * open, is closed at once; {@link #up()} brings it back on the same port (where the server behind it could not come
 * back itself while its old connections are in TIME_WAIT).
 */
public final class SwitchableRelay implements AutoCloseable {

    private final ServerSocketChannel listener;
    private final Selector acceptable;
    private final int targetPort;
    /** The open connections' sockets, both sides; each leaves as its connection ends. Guarded by {@link #lock}. */
    private final Set<Socket> sockets = new HashSet<>();
    private final Runnable afterAccepting;
    private final Runnable beforeRegistering;
    /**
     * Guards {@link #down} and {@link #closed} with the accepting of a connection and its registering, so that down()
     * and close() close every one accepted before they return: once accept() returned it, a connection is in
     * {@link #sockets}, or closed, before down() can look.
     */
    private final Object lock = new Object();
    private boolean down;
    private boolean closed;

    public SwitchableRelay(int targetPort) {
        this(targetPort, () -> { }, () -> { });
    }

    /** {@code beforeRegistering} runs once a connection's target is reached, before the relay keeps both sockets. */
    SwitchableRelay(int targetPort, Runnable beforeRegistering) {
        this(targetPort, () -> { }, beforeRegistering);
    }

    /** {@code afterAccepting} runs once a connection was accepted, before the relay reaches its target. */
    SwitchableRelay(int targetPort, Runnable afterAccepting, Runnable beforeRegistering) {
        this.targetPort = targetPort;
        this.afterAccepting = afterAccepting;
        this.beforeRegistering = beforeRegistering;
        try {
            listener = ServerSocketChannel.open();
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
            listener.configureBlocking(false);
            acceptable = Selector.open();
            listener.register(acceptable, SelectionKey.OP_ACCEPT);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Thread.ofVirtual().name("relay-accept").start(this::accept);
    }

    public int port() {
        return listener.socket().getLocalPort();
    }

    /** The sockets kept for down() and close(): both sides of each connection open, and of none that ended. */
    int socketsKept() {
        synchronized (lock) {
            return sockets.size();
        }
    }

    /** Closes every connection accepted before it returns, and every new one until {@link #up()}. */
    public void down() {
        List<Socket> open;
        synchronized (lock) {
            down = true;
            open = List.copyOf(sockets);
            sockets.clear();
        }
        open.forEach(SwitchableRelay::closeQuietly);
    }

    public void up() {
        synchronized (lock) {
            down = false;
        }
    }

    private void accept() {
        while (listener.isOpen()) {
            Socket visitor;
            try {
                acceptable.select();
                acceptable.selectedKeys().clear();
                visitor = acceptKept();
            } catch (IOException | ClosedSelectorException e) {
                return; // closed
            }
            if (visitor == null) {
                continue; // none waiting, or closed at once as the relay is down
            }
            afterAccepting.run();
            if (visitor.isClosed()) {
                continue; // down() or close() came already: the target is not bothered
            }
            Socket target;
            try {
                target = new Socket(InetAddress.getLoopbackAddress(), targetPort);
            } catch (IOException e) {
                closeQuietly(visitor);
                continue;
            }
            beforeRegistering.run();
            if (!register(visitor, target)) {
                // down() or close() came while the target was being reached, and closed the visitor.
                closeQuietly(target);
                continue;
            }
            Thread.ofVirtual().name("relay-out").start(() -> pipe(visitor, target));
            Thread.ofVirtual().name("relay-back").start(() -> pipe(target, visitor));
        }
    }

    /** Accepts a waiting connection and keeps it in {@link #sockets}, as one step down() cannot come between. */
    private Socket acceptKept() throws IOException {
        synchronized (lock) {
            SocketChannel accepted = listener.accept();
            if (accepted == null) {
                return null;
            }
            accepted.configureBlocking(true);
            Socket visitor = accepted.socket();
            if (down || closed) {
                closeQuietly(visitor);
                return null;
            }
            sockets.add(visitor);
            return visitor;
        }
    }

    private boolean register(Socket visitor, Socket target) {
        synchronized (lock) {
            if (!sockets.contains(visitor)) {
                return false;
            }
            sockets.add(target);
            return true;
        }
    }

    private void pipe(Socket from, Socket to) {
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
            forget(from, to); // else kept until down() or close(), however many connections came and went
        }
    }

    private void forget(Socket from, Socket to) {
        synchronized (lock) {
            sockets.remove(from);
            sockets.remove(to);
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
        closeQuietly(acceptable);
        open.forEach(SwitchableRelay::closeQuietly);
    }
}
