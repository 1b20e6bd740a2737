package io.picotunnel.server.e2e;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Takes many uploads at once: of a request to {@code /fast} it reads the whole body and answers 200 with the body's
 * length; of any other it reads the head and then nothing more, holding the connection until closed. Accepts at most
 * {@link #MAX_CONNECTIONS}.
 */
final class StallingUploadTarget implements AutoCloseable {

    private static final int MAX_CONNECTIONS = 256;

    private final ServerSocket server = new ServerSocket();
    private final List<Socket> connections = new CopyOnWriteArrayList<>();
    private final AtomicInteger stalled = new AtomicInteger();

    StallingUploadTarget() throws IOException {
        server.setReceiveBufferSize(64 * 1024); // inherited by the accepted sockets, whose buffers then stay small
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        Thread.ofVirtual().name("stalling-target").start(this::accept);
    }

    int port() {
        return server.getLocalPort();
    }

    /** The requests whose head it read and whose body it reads none of. */
    int stalled() {
        return stalled.get();
    }

    private void accept() {
        try {
            for (int i = 0; i < MAX_CONNECTIONS; i++) {
                Socket socket = server.accept();
                connections.add(socket);
                Thread.ofVirtual().name("stalling-target-" + i).start(() -> serve(socket));
            }
        } catch (IOException e) {
            // closed
        }
    }

    private void serve(Socket socket) {
        try {
            socket.setSoTimeout(60_000);
            InputStream in = new BufferedInputStream(socket.getInputStream());
            String requestLine = FaultTarget.readLine(in);
            long length = Uploads.readContentLength(in);
            if (requestLine == null || !requestLine.split(" ")[1].startsWith("/fast")) {
                stalled.incrementAndGet();
                return; // the socket stays open, unread, until close()
            }
            in.skipNBytes(length);
            String body = Long.toString(length);
            OutputStream out = socket.getOutputStream();
            out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body)
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
        } catch (IOException e) {
            // the proxy ended the stream
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
