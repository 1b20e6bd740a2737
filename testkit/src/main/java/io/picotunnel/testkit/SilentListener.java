package io.picotunnel.testkit;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;

/**
 * A listening socket on 127.0.0.1 (or another loopback address and port) that never accepts, its accept queue
 * filled, so that the kernel drops further SYNs: a connect to it gets no answer and times out. Stands for a target
 * that does not answer.
 */
public final class SilentListener implements AutoCloseable {

    private final ServerSocket listener;
    private final List<Socket> fillers = new ArrayList<>();

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
            } catch (SocketTimeoutException e) {
                return;
            }
        }
        close();
        throw new IllegalStateException("the accept queue of a listener with backlog 1 never filled");
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
        for (Socket socket : fillers) {
            socket.close();
        }
        listener.close();
    }
}
