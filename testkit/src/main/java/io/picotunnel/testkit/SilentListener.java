package io.picotunnel.testkit;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;

/**
 * A listening socket on 127.0.0.1 that never accepts, its accept queue filled, so that the kernel drops
 * further SYNs: a connect to it gets no answer and times out. Stands for a target that does not answer.
 */
public final class SilentListener implements AutoCloseable {

    private final ServerSocket listener;
    private final List<Socket> fillers = new ArrayList<>();

    public SilentListener() throws IOException {
        listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
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

    /** {@code 127.0.0.1:port}. */
    public String address() {
        return "127.0.0.1:" + listener.getLocalPort();
    }

    @Override
    public void close() throws IOException {
        for (Socket socket : fillers) {
            socket.close();
        }
        listener.close();
    }
}
