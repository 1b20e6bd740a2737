package io.picotunnel.server.e2e;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * A target on loopback that serves each connection's requests in turn (keep-alive), each by its request line, at most
 * 256 per connection; a connection the proxy closes or resets just ends.
 */
abstract class RoutedTarget implements AutoCloseable {
    private final ServerSocket server = new ServerSocket(0, 16, InetAddress.getLoopbackAddress());
    private final String name;

    RoutedTarget(String name) throws IOException {
        this.name = name;
        Thread.ofVirtual().name(name).start(this::acceptLoop);
    }

    final int port() {
        return server.getLocalPort();
    }

    /** The request line of each request, before its headers are read. */
    void requestLineRead(String requestLine) {
    }

    /**
     * Answers one request, whose head was read ({@code length}: its Content-Length, 0 without); its body is still
     * in {@code in}. Answers whether the connection goes on to its next request.
     */
    abstract boolean answer(String requestLine, long length, Socket socket, InputStream in, OutputStream out)
            throws IOException, InterruptedException;

    @Override
    public void close() throws IOException {
        server.close();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket socket = server.accept();
                Thread.ofVirtual().name(name + "-conn").start(() -> serve(socket));
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void serve(Socket socket) {
        try (socket) {
            socket.setSoTimeout(60_000);
            InputStream in = new BufferedInputStream(socket.getInputStream());
            OutputStream out = socket.getOutputStream();
            for (int request = 0; request < 256; request++) {
                String requestLine = FaultTarget.readLine(in);
                if (requestLine == null) {
                    return;
                }
                requestLineRead(requestLine);
                if (!answer(requestLine, Uploads.readContentLength(in), socket, in, out)) {
                    return;
                }
            }
        } catch (IOException | InterruptedException e) {
            // the proxy closed or reset the stream
        }
    }
}
