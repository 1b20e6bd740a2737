package io.picotunnel.testkit;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * What {@link ConnectProxy} and {@link Socks5Proxy} share around their handshakes: a listener on 127.0.0.1 that
 * serves each connection on its own virtual thread (a 30 s read timeout for the handshake; any failure closes it),
 * the bytes relayed both ways once the handshake is done, and every socket closed on {@link #close()}.
 */
final class ProxyListener implements AutoCloseable {

    /** One connection's handshake and what follows it. */
    interface Handshake {
        void serve(Socket client) throws IOException;
    }

    private final ServerSocket listener;
    private final String name;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private Thread acceptor;

    ProxyListener(String name, int backlog) {
        this.name = name;
        try {
            listener = new ServerSocket(0, backlog, InetAddress.getLoopbackAddress());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    int port() {
        return listener.getLocalPort();
    }

    /** Takes connections, after {@code first} has run, and serves each with {@code handshake}. */
    void start(Runnable first, Handshake handshake) {
        acceptor = Thread.ofVirtual().name(name).start(() -> {
            first.run();
            accept(handshake);
        });
    }

    private void accept(Handshake handshake) {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                sockets.add(client);
                Thread.ofVirtual().name(name + "-client").start(() -> serve(client, handshake));
            } catch (IOException e) {
                return;
            }
        }
    }

    private static void serve(Socket client, Handshake handshake) {
        try {
            client.setSoTimeout(30_000);
            handshake.serve(client);
        } catch (IOException | RuntimeException e) {
            closeQuietly(client);
        }
    }

    /** Reads what the client sends until it closes, answering nothing, then closes it. */
    static void neverAnswer(Socket client, InputStream in) throws IOException {
        client.setSoTimeout(0);
        in.transferTo(OutputStream.nullOutputStream());
        client.close();
    }

    /** Closes {@code upstream} with the rest when this closes. */
    void track(Socket upstream) {
        sockets.add(upstream);
    }

    /** Relays bytes both ways between the client (read from {@code fromClient}) and {@code upstream}, until both end. */
    void relay(Socket client, InputStream fromClient, Socket upstream) throws IOException {
        Thread.ofVirtual().name(name + "-up").start(() -> pump(fromClient, upstream, client));
        pump(upstream.getInputStream(), client, upstream);
    }

    private static void pump(InputStream from, Socket to, Socket source) {
        byte[] buffer = new byte[16 * 1024];
        try {
            int n;
            while ((n = from.read(buffer)) >= 0) {
                to.getOutputStream().write(buffer, 0, n);
                to.getOutputStream().flush();
            }
            to.shutdownOutput();
        } catch (IOException e) {
            closeQuietly(to);
            closeQuietly(source);
        }
    }

    static void closeQuietly(Closeable closeable) {
        try {
            closeable.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    @Override
    public void close() {
        try {
            listener.close();
        } catch (IOException e) {
            // closing anyway
        }
        for (Socket socket : new ArrayList<>(sockets)) {
            closeQuietly(socket);
        }
        try {
            acceptor.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
