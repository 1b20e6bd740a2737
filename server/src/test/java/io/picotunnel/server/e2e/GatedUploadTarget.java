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
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Takes up to {@code uploads} uploads at once: reads each one's head, then none of its body until {@link #open}; then
 * reads every body whole and answers each with its body's SHA-256 (hex), and closes.
 */
final class GatedUploadTarget implements AutoCloseable {
    private final ServerSocket server = new ServerSocket();
    private final CountDownLatch gate = new CountDownLatch(1);
    private final AtomicInteger heads = new AtomicInteger();
    private final int uploads;

    GatedUploadTarget(int uploads) throws IOException {
        this.uploads = uploads;
        server.setReceiveBufferSize(64 * 1024); // inherited by the accepted sockets, whose buffers then stay small
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), uploads);
        Thread.ofVirtual().name("gated-upload-target").start(this::accept);
    }

    int port() {
        return server.getLocalPort();
    }

    /** How many uploads' heads it has read. */
    int heads() {
        return heads.get();
    }

    /** Lets every upload's body be read, now and later. */
    void open() {
        gate.countDown();
    }

    private void accept() {
        for (int i = 0; i < uploads; i++) {
            try {
                Socket socket = server.accept();
                Thread.ofVirtual().name("gated-upload-" + i).start(() -> serve(socket));
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void serve(Socket connection) {
        try (Socket socket = connection) {
            socket.setSoTimeout(60_000);
            InputStream in = new BufferedInputStream(socket.getInputStream());
            FaultTarget.readLine(in); // the request line
            long length = Uploads.readContentLength(in);
            heads.incrementAndGet();
            if (!gate.await(60, TimeUnit.SECONDS)) {
                return;
            }
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[64 * 1024];
            for (long left = length; left > 0; ) {
                int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
                if (n < 0) {
                    return; // cut: no answer
                }
                digest.update(buffer, 0, n);
                left -= n;
            }
            String sha = HexFormat.of().formatHex(digest.digest());
            OutputStream out = socket.getOutputStream();
            out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + sha.length() + "\r\nConnection: close\r\n\r\n" + sha)
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
        } catch (IOException | InterruptedException | NoSuchAlgorithmException e) {
            // the proxy closed or reset the stream: the visitor sees no answer
        }
    }

    @Override
    public void close() throws IOException {
        gate.countDown();
        server.close();
    }
}
