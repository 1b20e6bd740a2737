package io.picotunnel.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A TCP target on 127.0.0.1 that accepts one connection and reads nothing until {@link #release()}, with a
 * small receive buffer, so that a sender behind it is held back by flow control. Once released it reads to
 * EOF, counting the bytes and hashing them with SHA-256. {@link #readingAfter} makes a slow reader instead: it
 * releases itself a fixed time after accepting.
 */
public final class StallingServer implements AutoCloseable {

    /** The receive buffer asked of the kernel for accepted connections. */
    public static final int RECEIVE_BUFFER = 64 * 1024;

    private final ServerSocket server;
    private final CountDownLatch released = new CountDownLatch(1);
    private final CountDownLatch done = new CountDownLatch(1);
    private final AtomicLong received = new AtomicLong();
    private final AtomicReference<String> sha256 = new AtomicReference<>();
    private final AtomicReference<Socket> connection = new AtomicReference<>();
    private final Duration readDelay;

    /** Reads nothing until {@link #release()}. */
    public StallingServer() {
        this(null);
    }

    /** Starts reading {@code delay} after accepting the connection (or at {@link #release()}, if earlier). */
    public static StallingServer readingAfter(Duration delay) {
        return new StallingServer(delay);
    }

    private StallingServer(Duration readDelay) {
        this.readDelay = readDelay;
        try {
            server = new ServerSocket();
            server.setReceiveBufferSize(RECEIVE_BUFFER);
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Thread.ofVirtual().name("stalling-target").start(this::serve);
    }

    public String address() {
        return "127.0.0.1:" + server.getLocalPort();
    }

    /** True once a connection was accepted. */
    public boolean connected() {
        return connection.get() != null;
    }

    /** Bytes read so far (zero until released). */
    public long receivedBytes() {
        return received.get();
    }

    /** True once the peer's EOF was read (then {@link #awaitSha256} answers at once). */
    public boolean reachedEof() {
        return done.getCount() == 0;
    }

    /** Starts reading. */
    public void release() {
        released.countDown();
    }

    /** The SHA-256 (hex) of everything read, once the peer has shut its output; waits at most {@code seconds}. */
    public String awaitSha256(long seconds) throws InterruptedException {
        if (!done.await(seconds, TimeUnit.SECONDS)) {
            throw new IllegalStateException("no EOF from the peer within " + seconds + " s, "
                    + received.get() + " bytes read");
        }
        return sha256.get();
    }

    private void serve() {
        try (Socket socket = server.accept()) {
            connection.set(socket);
            if (readDelay == null) {
                released.await();
            } else {
                released.await(readDelay.toNanos(), TimeUnit.NANOSECONDS);
            }
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            InputStream in = socket.getInputStream();
            byte[] buffer = new byte[64 * 1024];
            int n;
            while ((n = in.read(buffer)) >= 0) {
                digest.update(buffer, 0, n);
                received.addAndGet(n);
            }
            sha256.set(HexFormat.of().formatHex(digest.digest()));
            done.countDown();
        } catch (IOException | InterruptedException | NoSuchAlgorithmException e) {
            // closed by the test
        }
    }

    @Override
    public void close() {
        released.countDown();
        try {
            server.close();
            Socket socket = connection.get();
            if (socket != null) {
                socket.close();
            }
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
