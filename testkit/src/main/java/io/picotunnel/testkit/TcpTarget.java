package io.picotunnel.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A local TCP service for tunnel tests on 127.0.0.1 (ephemeral port). Every connection is recorded with the
 * SHA-256 of what it received and sent.
 * <ul>
 *   <li>{@link #echo()} sends back what it reads and closes its side after the client's EOF;</li>
 *   <li>{@link #sendThenReceive(int)} first sends {@code n} random bytes and half-closes, then reads to EOF;</li>
 *   <li>{@link #heldUntilReleased(int)} does the same, but only once {@link #release()} was called.</li>
 * </ul>
 */
public final class TcpTarget implements AutoCloseable {

    /** One finished connection. */
    public record Exchange(long received, String shaReceived, long sent, String shaSent) {
    }

    private final ServerSocket server;
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final List<Exchange> exchanges = new CopyOnWriteArrayList<>();
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    private final AtomicInteger accepted = new AtomicInteger();
    private final int sendFirst;
    private final CountDownLatch released;

    private TcpTarget(int sendFirst, boolean held) {
        this.sendFirst = sendFirst;
        this.released = new CountDownLatch(held ? 1 : 0);
        try {
            server = new ServerSocket();
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        threads.execute(this::acceptLoop);
    }

    public static TcpTarget echo() {
        return new TcpTarget(-1, false);
    }

    public static TcpTarget sendThenReceive(int bytes) {
        return new TcpTarget(bytes, false);
    }

    public static TcpTarget heldUntilReleased(int bytes) {
        return new TcpTarget(bytes, true);
    }

    /** Lets held connections go on. */
    public void release() {
        released.countDown();
    }

    /** Connections accepted so far, finished or not. */
    public int accepted() {
        return accepted.get();
    }

    /** {@code 127.0.0.1:port}. */
    public String address() {
        return "127.0.0.1:" + server.getLocalPort();
    }

    public int port() {
        return server.getLocalPort();
    }

    /** The connections that have ended, in the order they ended. */
    public List<Exchange> exchanges() {
        return List.copyOf(exchanges);
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket socket = server.accept();
                accepted.incrementAndGet();
                open.add(socket);
                threads.execute(() -> serve(socket));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket socket) {
        try (socket) {
            socket.setSoTimeout(60_000);
            InputStream in = socket.getInputStream();
            OutputStream out = socket.getOutputStream();
            MessageDigest received = sha256();
            MessageDigest sent = sha256();
            long receivedCount = 0;
            long sentCount = 0;
            if (!released.await(60, TimeUnit.SECONDS)) {
                return;
            }
            if (sendFirst >= 0) {
                byte[] data = new byte[sendFirst];
                new Random().nextBytes(data);
                out.write(data);
                sent.update(data);
                sentCount = data.length;
                socket.shutdownOutput();
            }
            byte[] buffer = new byte[64 * 1024];
            int n;
            while ((n = in.read(buffer)) >= 0) {
                received.update(buffer, 0, n);
                receivedCount += n;
                if (sendFirst < 0) {
                    out.write(buffer, 0, n);
                    sent.update(buffer, 0, n);
                    sentCount += n;
                }
            }
            if (sendFirst < 0) {
                socket.shutdownOutput();
            }
            exchanges.add(new Exchange(receivedCount, hex(received), sentCount, hex(sent)));
        } catch (IOException e) {
            // the test sees the missing exchange
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            open.remove(socket);
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String hex(MessageDigest digest) {
        return HexFormat.of().formatHex(digest.digest());
    }

    @Override
    public void close() {
        try {
            server.close();
            for (Socket socket : open) {
                socket.close();
            }
        } catch (IOException ignored) {
            // closing anyway
        }
        threads.shutdownNow();
        try {
            threads.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
