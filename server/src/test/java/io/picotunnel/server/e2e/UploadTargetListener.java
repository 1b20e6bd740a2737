package io.picotunnel.server.e2e;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The listening side of an upload target: on a loopback port, with a small receive buffer, it accepts at most
 * {@code maxConnections} and hands each to its reader on a thread of its own; how much of a body is read is the
 * reader's. Closes the listener and every connection it accepted.
 */
final class UploadTargetListener implements AutoCloseable {

    private final ServerSocket server = new ServerSocket();
    private final List<Socket> connections = new CopyOnWriteArrayList<>();
    private final int maxConnections;
    private final Consumer<Socket> reader;

    UploadTargetListener(String name, int maxConnections, Consumer<Socket> reader) throws IOException {
        this.maxConnections = maxConnections;
        this.reader = reader;
        server.setReceiveBufferSize(64 * 1024); // inherited by the accepted sockets, whose buffers then stay small
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        Thread.ofVirtual().name(name).start(this::accept);
    }

    int port() {
        return server.getLocalPort();
    }

    private void accept() {
        try {
            for (int i = 0; i < maxConnections; i++) {
                Socket socket = server.accept();
                connections.add(socket);
                Thread.ofVirtual().name(Thread.currentThread().getName() + "-" + i).start(() -> reader.accept(socket));
            }
        } catch (IOException e) {
            // closed
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket socket : connections) {
            socket.close();
        }
    }
}
