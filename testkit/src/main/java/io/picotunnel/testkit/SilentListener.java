package io.picotunnel.testkit;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * A listening socket on 127.0.0.1 (or another loopback address and port) that never accepts, its accept queue
 * filled, so that the kernel drops further SYNs: a connect to it gets no answer and times out. Stands for a target
 * that does not answer.
 */
public final class SilentListener implements AutoCloseable {

    private final ServerSocket listener;
    private final List<Socket> fillers = new ArrayList<>();
    private final Set<Integer> fillerPorts = new HashSet<>();
    private final List<Socket> early = new ArrayList<>();

    public SilentListener() throws IOException {
        this(InetAddress.getLoopbackAddress(), 0);
    }

    /**
     * Silent on {@code loopback} (127.0.0.1, ::1) at {@code port} (0: any free one), so that a name resolving to
     * several addresses can have a silent one beside a listener on the same port.
     */
    public SilentListener(InetAddress loopback, int port) throws IOException {
        if (!loopback.isLoopbackAddress()) {
            throw new IllegalArgumentException("not a loopback address: " + loopback);
        }
        listener = new ServerSocket(port, 1, loopback);
        for (int i = 0; i < 16; i++) {
            Socket socket = new Socket();
            fillers.add(socket);
            try {
                socket.connect(listener.getLocalSocketAddress(), 300);
                fillerPorts.add(socket.getLocalPort());
            } catch (SocketTimeoutException e) {
                return;
            }
        }
        close();
        throw new IllegalStateException("the accept queue of a listener with backlog 1 never filled");
    }

    /**
     * Answers from now on, as a path that drops packets for a while and then comes through: the connections that
     * filled the accept queue are closed and taken off it, so that the kernel takes SYNs again, a connect under way
     * included when its SYN is sent again (1 s after the first on Linux, then 3 s). Take those with {@link #accept}.
     */
    public void startAnswering() throws IOException {
        for (Socket socket : fillers) {
            socket.close();
        }
        listener.setSoTimeout(200);
        for (int i = 0; i < fillers.size(); i++) {
            Socket accepted;
            try {
                accepted = listener.accept();
            } catch (SocketTimeoutException e) {
                return;
            }
            if (fillerPorts.contains(accepted.getPort())) {
                accepted.close();
            } else {
                early.add(accepted);
            }
        }
    }

    /**
     * After {@link #startAnswering}: the next connection other than those that filled the queue, or null when none
     * came within {@code timeout}.
     */
    public Socket accept(Duration timeout) throws IOException {
        if (!early.isEmpty()) {
            return early.removeFirst();
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        for (int i = 0; i < 100; i++) {
            long leftMillis = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (leftMillis <= 0) {
                return null;
            }
            listener.setSoTimeout((int) leftMillis);
            Socket accepted;
            try {
                accepted = listener.accept();
            } catch (SocketTimeoutException e) {
                return null;
            }
            if (!fillerPorts.contains(accepted.getPort())) {
                return accepted;
            }
            accepted.close();
        }
        return null;
    }

    /** {@code 127.0.0.1:port}, an IPv6 address in brackets. */
    public String address() {
        String host = listener.getInetAddress().getHostAddress();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + listener.getLocalPort();
    }

    public int port() {
        return listener.getLocalPort();
    }

    @Override
    public void close() throws IOException {
        for (Socket socket : early) {
            socket.close();
        }
        for (Socket socket : fillers) {
            socket.close();
        }
        listener.close();
    }
}
