package io.picotunnel.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A peer on 127.0.0.1 that accepts connections and never writes a byte: a tunnel client or server, a yamux peer or a
 * target that is connected but never answers. {@link #readingNothing} leaves what comes in the kernel's buffers;
 * {@link #draining} reads and drops it, so that a sender is never held back and a peer's close is seen
 * ({@link #endsSeen}). Its connections close on {@link #close}, not before. Unlike {@link SilentListener}, the
 * connection itself succeeds.
 */
public final class SilentPeer implements AutoCloseable {

    private static final int MAX_CONNECTIONS = 64;

    private final ServerSocket listener;
    private final boolean drain;
    private final List<Socket> accepted = new CopyOnWriteArrayList<>();
    private final CountDownLatch firstAccepted = new CountDownLatch(1);
    private final AtomicInteger ends = new AtomicInteger();

    /** Accepts, and reads nothing: what the other side sends stays in the socket buffers. */
    public static SilentPeer readingNothing() {
        return new SilentPeer(false);
    }

    /** Accepts, and reads everything to drop it. */
    public static SilentPeer draining() {
        return new SilentPeer(true);
    }

    private SilentPeer(boolean drain) {
        this.drain = drain;
        try {
            listener = new ServerSocket(0, MAX_CONNECTIONS, InetAddress.getLoopbackAddress());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Thread.ofVirtual().name("silent-peer").start(this::acceptAll);
    }

    public InetSocketAddress socketAddress() {
        return new InetSocketAddress(listener.getInetAddress(), listener.getLocalPort());
    }

    /** {@code 127.0.0.1:port}. */
    public String address() {
        return listener.getInetAddress().getHostAddress() + ":" + listener.getLocalPort();
    }

    public int port() {
        return listener.getLocalPort();
    }

    /** Waits at most {@code timeout} for the first connection; true once one was accepted. */
    public boolean awaitConnection(Duration timeout) throws InterruptedException {
        return firstAccepted.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** Connections accepted so far. */
    public int connections() {
        return accepted.size();
    }

    /** How many connections the other side ended (EOF or reset): counted only by {@link #draining}. */
    public int endsSeen() {
        return ends.get();
    }

    private void acceptAll() {
        for (int i = 0; i < MAX_CONNECTIONS; i++) {
            Socket socket;
            try {
                socket = listener.accept();
            } catch (IOException closed) {
                return;
            }
            accepted.add(socket);
            if (listener.isClosed()) {
                close(); // accepted as close() ran: closed with the others
                return;
            }
            firstAccepted.countDown();
            if (drain) {
                Thread.ofVirtual().name("silent-peer-drain").start(() -> drain(socket));
            }
        }
    }

    private void drain(Socket socket) {
        byte[] buffer = new byte[16 * 1024];
        try {
            InputStream in = socket.getInputStream();
            // Bounded by the other side's end or close(); the count only keeps the loop finite.
            for (long i = 0; i < Long.MAX_VALUE; i++) {
                if (in.read(buffer) < 0) {
                    break;
                }
            }
            ends.incrementAndGet();
        } catch (IOException e) {
            if (!socket.isClosed()) {
                ends.incrementAndGet(); // reset by the other side, not closed by us
            }
        }
    }

    @Override
    public void close() {
        ProxyListener.closeQuietly(listener);
        accepted.forEach(ProxyListener::closeQuietly);
    }
}
