package io.picotunnel.bench.tools;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Arrays;

/**
 * Round trips of a small message over one TCP connection: {@link Echo} answers every byte it reads, and
 * {@link #measure} writes the message, reads the whole echo and times each exchange with blocking sockets and
 * {@code TCP_NODELAY}, as a latency-sensitive application would.
 */
public final class RoundTrip {

    private RoundTrip() {
    }

    /** Round-trip times in microseconds, sorted. */
    public record Samples(double[] micros) {

        /** The nearest-rank percentile, {@code p} in (0, 100]. */
        public double percentile(double p) {
            if (micros.length == 0) {
                throw new IllegalStateException("no samples");
            }
            int rank = (int) Math.ceil(p / 100.0 * micros.length);
            return micros[Math.max(0, Math.min(micros.length, rank) - 1)];
        }

        public int count() {
            return micros.length;
        }
    }

    /**
     * Connects to {@code address}, does {@code warmup} untimed round trips, then up to {@code samples} timed ones,
     * stopping early (with the samples so far) when {@code limit} has passed.
     */
    public static Samples measure(InetSocketAddress address, int messageBytes, int warmup, int samples,
                                  Duration limit) throws IOException {
        byte[] message = new byte[messageBytes];
        for (int i = 0; i < message.length; i++) {
            message[i] = (byte) ('a' + i % 26);
        }
        byte[] echo = new byte[messageBytes];
        double[] times = new double[samples];
        int taken = 0;
        long deadline = System.nanoTime() + limit.toNanos();
        try (Socket socket = new Socket()) {
            socket.setTcpNoDelay(true);
            socket.connect(address, 10_000);
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            InputStream in = socket.getInputStream();
            for (int i = 0; i < warmup + samples && System.nanoTime() < deadline; i++) {
                long start = System.nanoTime();
                out.write(message);
                readFully(in, echo);
                long took = System.nanoTime() - start;
                if (!Arrays.equals(message, echo)) {
                    throw new IOException("the echo through " + address + " differs from what was sent");
                }
                if (i >= warmup) {
                    times[taken++] = took / 1000.0;
                }
            }
        }
        double[] sorted = Arrays.copyOf(times, taken);
        Arrays.sort(sorted);
        return new Samples(sorted);
    }

    private static void readFully(InputStream in, byte[] into) throws IOException {
        int n = in.readNBytes(into, 0, into.length);
        if (n < into.length) {
            throw new IOException("the connection closed after " + n + " of " + into.length + " echoed bytes");
        }
    }

    /** Echoes every byte back on each accepted connection, one thread per connection. */
    public static final class Echo implements Closeable {
        private final ServerSocket listener;

        public Echo(int port) throws IOException {
            listener = new ServerSocket();
            listener.setReuseAddress(true);
            listener.bind(new InetSocketAddress("127.0.0.1", port), 64);
            Thread acceptor = new Thread(this::acceptLoop, "echo-accept");
            acceptor.setDaemon(true);
            acceptor.start();
        }

        public int port() {
            return listener.getLocalPort();
        }

        private void acceptLoop() {
            while (!listener.isClosed()) {
                Socket socket;
                try {
                    socket = listener.accept();
                    socket.setTcpNoDelay(true);
                } catch (IOException e) {
                    return;
                }
                Thread t = new Thread(() -> echo(socket), "echo-" + socket.getPort());
                t.setDaemon(true);
                t.start();
            }
        }

        private static void echo(Socket socket) {
            try (socket) {
                InputStream in = socket.getInputStream();
                OutputStream out = socket.getOutputStream();
                byte[] buffer = new byte[16 * 1024];
                for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                    out.write(buffer, 0, n);
                }
            } catch (IOException ignored) {
                // the peer went away
            }
        }

        @Override
        public void close() throws IOException {
            listener.close();
        }
    }
}
