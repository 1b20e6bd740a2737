package io.picotunnel.bench.tools;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A TCP relay that behaves like a long fat link, for machines without {@code tc netem}: every chunk read on one
 * side is written to the other no sooner than {@code oneWayDelay} after it arrived, and each direction is paced
 * to {@code bitsPerSecond}. Each direction buffers up to {@code bufferBytes} (at least the bandwidth-delay product,
 * so the pacing and not the buffer limits a sender that keeps the link full); a full buffer stops reading, which
 * pushes back on the sender through TCP.
 *
 * <p>The relay terminates TCP on both sides, so it delays what the endpoints' applications see: a protocol that
 * waits for the peer's answer (a yamux window update, an iperf3 control message) waits one round trip of
 * {@code 2 * oneWayDelay}, as over the real link. Kernel-level effects (slow start, loss) are not emulated.
 */
public final class DelayRelay implements Closeable {

    /** Largest chunk read at once: 64 KiB takes about 0.5 ms at 1 Gbit/s, so pacing stays smooth. */
    static final int CHUNK = 64 * 1024;

    private static final Chunk END = new Chunk(new byte[0], 0, 0);

    private final ServerSocket listener;
    private final InetSocketAddress upstream;
    private final long delayNanos;
    private final long bitsPerSecond;
    private final int bufferBytes;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    private DelayRelay(ServerSocket listener, InetSocketAddress upstream, Duration oneWayDelay, long bitsPerSecond,
                       int bufferBytes) {
        this.listener = listener;
        this.upstream = upstream;
        this.delayNanos = oneWayDelay.toNanos();
        this.bitsPerSecond = bitsPerSecond;
        this.bufferBytes = bufferBytes;
    }

    /**
     * Listens on {@code listen} and relays every accepted connection to a new connection to {@code upstream}.
     *
     * @param oneWayDelay   added to each direction (a round trip gains twice this)
     * @param bitsPerSecond pace of each direction
     * @param bufferBytes   bytes each direction holds at most (at least {@link #CHUNK})
     */
    public static DelayRelay start(InetSocketAddress listen, InetSocketAddress upstream, Duration oneWayDelay,
                                   long bitsPerSecond, int bufferBytes) throws IOException {
        if (oneWayDelay.isNegative() || bitsPerSecond <= 0 || bufferBytes < CHUNK) {
            throw new IllegalArgumentException("delay must be >= 0, rate > 0 and the buffer at least " + CHUNK
                    + " bytes");
        }
        ServerSocket listener = new ServerSocket();
        listener.setReuseAddress(true);
        listener.bind(listen, 128);
        DelayRelay relay = new DelayRelay(listener, upstream, oneWayDelay, bitsPerSecond, bufferBytes);
        thread("relay-accept-" + listener.getLocalPort(), relay::acceptLoop);
        return relay;
    }

    public int port() {
        return listener.getLocalPort();
    }

    private void acceptLoop() {
        while (!closed) {
            Socket down;
            try {
                down = listener.accept();
            } catch (IOException e) {
                return; // closed
            }
            Socket up = new Socket();
            try {
                up.connect(upstream, 10_000);
            } catch (IOException e) {
                System.err.println("relay: cannot connect to " + upstream + ": " + e.getMessage());
                closeQuietly(down);
                closeQuietly(up);
                continue;
            }
            for (Socket s : new Socket[] {down, up}) {
                sockets.add(s);
                try {
                    s.setTcpNoDelay(true); // the relay adds its delay; Nagle must not add another
                } catch (SocketException ignored) {
                    // a socket reset already: the pipes see it
                }
            }
            Connection connection = new Connection(down, up);
            connection.start("relay-" + down.getPort());
        }
    }

    private static void thread(String name, Runnable body) {
        Thread t = new Thread(body, name);
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void close() {
        closed = true;
        closeQuietly(listener);
        for (Socket s : sockets) {
            closeQuietly(s);
        }
    }

    private static void closeQuietly(Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    /** Both directions of one relayed connection; both sockets close when both directions are done or one fails. */
    private final class Connection {
        private final Socket down;
        private final Socket up;
        private final AtomicInteger open = new AtomicInteger(2);

        Connection(Socket down, Socket up) {
            this.down = down;
            this.up = up;
        }

        void start(String name) {
            new Direction(down, up, this).start(name + "-up");
            new Direction(up, down, this).start(name + "-down");
        }

        void directionDone(boolean failed) {
            if (failed || open.decrementAndGet() == 0) {
                closeQuietly(down);
                closeQuietly(up);
                sockets.remove(down);
                sockets.remove(up);
            }
        }
    }

    private record Chunk(byte[] bytes, int length, long arrivedNanos) {
    }

    /** One direction: a reader that timestamps chunks and a writer that releases them when due and paced. */
    private final class Direction {
        private final Socket from;
        private final Socket to;
        private final Connection connection;
        private final Semaphore room = new Semaphore(bufferBytes);
        private final BlockingQueue<Chunk> queue = new ArrayBlockingQueue<>(bufferBytes / 512 + 2);

        Direction(Socket from, Socket to, Connection connection) {
            this.from = from;
            this.to = to;
            this.connection = connection;
        }

        void start(String name) {
            thread(name + "-read", this::readLoop);
            thread(name + "-write", this::writeLoop);
        }

        private void readLoop() {
            try {
                InputStream in = from.getInputStream();
                while (true) {
                    // a full buffer stops reading: TCP pushes back on the sender
                    while (!room.tryAcquire(CHUNK, 1, TimeUnit.SECONDS)) {
                        if (from.isClosed()) {
                            return;
                        }
                    }
                    byte[] buffer = new byte[CHUNK];
                    int n = in.read(buffer);
                    long now = System.nanoTime();
                    if (n < 0) {
                        room.release(CHUNK);
                        enqueue(END);
                        return;
                    }
                    room.release(CHUNK - n);
                    enqueue(new Chunk(buffer, n, now));
                }
            } catch (IOException e) {
                connection.directionDone(true);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                connection.directionDone(true);
            }
        }

        /** Waits for room in the queue as long as the connection is open (then the chunk no longer matters). */
        private void enqueue(Chunk chunk) throws InterruptedException {
            while (!queue.offer(chunk, 1, TimeUnit.SECONDS)) {
                if (from.isClosed()) {
                    return;
                }
            }
        }

        private void writeLoop() {
            long nextFree = System.nanoTime();
            try {
                OutputStream out = to.getOutputStream();
                while (true) {
                    Chunk chunk = queue.poll(1, TimeUnit.SECONDS);
                    if (chunk == null) {
                        if (closed || to.isClosed()) {
                            return;
                        }
                        continue;
                    }
                    if (chunk == END) {
                        to.shutdownOutput();
                        connection.directionDone(false);
                        return;
                    }
                    long sendAt = Math.max(chunk.arrivedNanos() + delayNanos, nextFree);
                    parkUntil(sendAt);
                    out.write(chunk.bytes(), 0, chunk.length());
                    nextFree = sendAt + chunk.length() * 8L * 1_000_000_000L / bitsPerSecond;
                    room.release(chunk.length());
                }
            } catch (IOException e) {
                connection.directionDone(true);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                connection.directionDone(true);
            }
        }
    }

    private static void parkUntil(long deadlineNanos) {
        for (long left = deadlineNanos - System.nanoTime(); left > 0; left = deadlineNanos - System.nanoTime()) {
            LockSupport.parkNanos(left);
        }
    }
}
