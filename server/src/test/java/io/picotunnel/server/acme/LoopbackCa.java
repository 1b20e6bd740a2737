package io.picotunnel.server.acme;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A CA that misbehaves on a loopback port: its thread takes up to {@code connections} connections, hands each to
 * {@code answer}, and holds them all open until closed.
 */
final class LoopbackCa implements AutoCloseable {

    interface Answer {
        void to(Socket connection) throws IOException;
    }

    /** Reads and answers nothing. */
    static final Answer NEVER = connection -> { };

    private final ServerSocket socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    private final List<Socket> held = new CopyOnWriteArrayList<>();

    LoopbackCa(int connections, Answer answer) throws IOException {
        Thread.ofPlatform().daemon().start(() -> {
            for (int i = 0; i < connections; i++) {
                try {
                    Socket connection = socket.accept();
                    held.add(connection);
                    answer.to(connection);
                } catch (IOException e) {
                    return;
                }
            }
        });
    }

    String directory() {
        return "http://127.0.0.1:" + socket.getLocalPort() + "/dir";
    }

    /** Whether a client has connected yet. */
    boolean connected() {
        return !held.isEmpty();
    }

    @Override
    public void close() throws IOException {
        socket.close();
        for (Socket connection : held) {
            connection.close();
        }
    }
}
