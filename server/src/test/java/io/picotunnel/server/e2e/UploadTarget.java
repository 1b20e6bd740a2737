package io.picotunnel.server.e2e;

import io.picotunnel.testkit.KernelSocket;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Takes one upload: reads its head, then of its Content-Length body no more than it is allowed to (at first
 * {@code allowed} bytes, more with {@link #allow}); once it has read the whole body it answers with the body's
 * SHA-256 (hex) and closes.
 */
final class UploadTarget implements AutoCloseable {
    private final UploadTargetListener listener;
    private final AtomicLong allowed;
    private final AtomicLong received = new AtomicLong();
    private final Semaphore more = new Semaphore(0);
    private volatile boolean paused;
    private volatile boolean closed;
    private volatile boolean over;
    private volatile Socket connection;

    UploadTarget(long allowed) throws IOException {
        this.allowed = new AtomicLong(allowed);
        listener = new UploadTargetListener("upload-target", 1, this::serveOne);
    }

    int port() {
        return listener.port();
    }

    long received() {
        return received.get();
    }

    /** It has read all it was allowed to, and waits. */
    boolean paused() {
        return paused;
    }

    /**
     * It has read every byte {@link #allow} let it read so far, and waits for more, or it is over: unlike {@link #paused},
     * not true still from before the last allowance while its thread has not woken to read it.
     */
    boolean readAllAllowed() {
        return paused && received.get() >= allowed.get() || over;
    }

    /** Its one connection is over: answered, or cut by the proxy. */
    boolean over() {
        return over;
    }

    /**
     * The proxy's side of its connection has ended (its FIN, or its reset) while the target still holds it: read or
     * not, answered or not.
     */
    boolean endedByTheProxy() throws IOException {
        Socket socket = connection;
        if (socket == null) {
            return false;
        }
        KernelSocket kernel = KernelSocket.find(socket.getLocalPort(), socket.getPort());
        return kernel == null || kernel.state() == KernelSocket.CLOSE_WAIT;
    }

    void allow(long bytes) {
        allowed.addAndGet(bytes);
        more.release();
    }

    private void serveOne(Socket accepted) {
        try (Socket socket = accepted) {
            connection = socket;
            socket.setSoTimeout(60_000);
            InputStream in = new BufferedInputStream(socket.getInputStream());
            FaultTarget.readLine(in); // the request line
            long length = Uploads.readContentLength(in);
            MessageDigest digest = sha256();
            while (received.get() < length && !closed) {
                long now = Math.min(length, allowed.get()) - received.get();
                if (now > 0) {
                    read(in, digest, now);
                } else {
                    paused = true;
                    more.tryAcquire(60, TimeUnit.SECONDS);
                    paused = false;
                }
            }
            String sha = HexFormat.of().formatHex(digest.digest());
            OutputStream out = socket.getOutputStream();
            out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + sha.length() + "\r\nConnection: close\r\n\r\n" + sha)
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
        } catch (IOException | InterruptedException e) {
            // the proxy closed or reset the stream: the test sees what arrived
        } finally {
            over = true;
        }
    }

    private void read(InputStream in, MessageDigest digest, long bytes) throws IOException {
        byte[] buffer = new byte[64 * 1024];
        long left = bytes;
        while (left > 0) {
            int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
            if (n < 0) {
                throw new IOException("the body ended after " + received.get() + " bytes");
            }
            digest.update(buffer, 0, n);
            received.addAndGet(n);
            left -= n;
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        more.release();
        listener.close();
    }
}
