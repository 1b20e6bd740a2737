package io.picotunnel.bench.tools;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The relay over real loopback sockets. Its timing is checked only from below (it never delivers sooner than the
 * delay, never faster than the pace), which a loaded machine cannot make fail; how close it comes is the
 * bench's business, not a unit test's.
 */
class DelayRelayTest {

    private static final InetSocketAddress ANY_PORT = new InetSocketAddress("127.0.0.1", 0);

    private ServerSocket upstream;
    private DelayRelay relay;

    @AfterEach
    void close() throws IOException {
        if (relay != null) {
            relay.close();
        }
        if (upstream != null) {
            upstream.close();
        }
    }

    @Test
    void bytesCrossIntactInBothDirectionsAndEndOfStreamFollows() throws Exception {
        upstream = listen();
        // The upstream reads everything, then answers with the digest of what it read and closes.
        CompletableFuture<Void> server = CompletableFuture.runAsync(() -> {
            try (Socket s = upstream.accept()) {
                byte[] digest = sha256(s.getInputStream().readAllBytes());
                s.getOutputStream().write(digest);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        relay = DelayRelay.start(ANY_PORT, address(upstream), Duration.ofMillis(5), 10_000_000_000L, 1 << 20);
        byte[] payload = new byte[3 * 1024 * 1024 + 17];
        new Random(42).nextBytes(payload);

        try (Socket client = new Socket("127.0.0.1", relay.port())) {
            client.setSoTimeout(30_000);
            client.getOutputStream().write(payload);
            client.shutdownOutput();
            assertThat(client.getInputStream().readAllBytes()).isEqualTo(sha256(payload));
        }
        server.get();
    }

    @Test
    void roundTripTakesAtLeastTwiceTheOneWayDelay() throws Exception {
        upstream = listen();
        CompletableFuture.runAsync(() -> echoOnce(upstream));
        relay = DelayRelay.start(ANY_PORT, address(upstream), Duration.ofMillis(100), 1_000_000_000L, 1 << 20);

        try (Socket client = new Socket("127.0.0.1", relay.port())) {
            client.setTcpNoDelay(true);
            client.setSoTimeout(30_000);
            long start = System.nanoTime();
            client.getOutputStream().write('x');
            assertThat(client.getInputStream().read()).isEqualTo('x');
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(200));
        }
    }

    @Test
    void eachDirectionIsPacedToTheRate() throws Exception {
        upstream = listen();
        CompletableFuture<Long> received = CompletableFuture.supplyAsync(() -> {
            try (Socket s = upstream.accept()) {
                return s.getInputStream().transferTo(OutputStream.nullOutputStream());
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        long bitsPerSecond = 8_000_000; // 1 MB/s
        relay = DelayRelay.start(ANY_PORT, address(upstream), Duration.ZERO, bitsPerSecond, 1 << 20);
        int bytes = 1024 * 1024;

        long start = System.nanoTime();
        try (Socket client = new Socket("127.0.0.1", relay.port())) {
            client.getOutputStream().write(new byte[bytes]);
            client.shutdownOutput();
            assertThat(received.get()).isEqualTo(bytes);
        }
        // all but the last chunk wait for the pace: at least (bytes - one chunk) / rate
        long minimumNanos = (bytes - DelayRelay.CHUNK) * 8L * 1_000_000_000L / bitsPerSecond;
        assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(minimumNanos);
    }

    @Test
    void connectionToAnUnreachableUpstreamIsClosed() throws Exception {
        ServerSocket closed = listen();
        InetSocketAddress nowhere = address(closed);
        closed.close();
        relay = DelayRelay.start(ANY_PORT, nowhere, Duration.ofMillis(1), 1_000_000_000L, 1 << 20);

        try (Socket client = new Socket("127.0.0.1", relay.port())) {
            client.setSoTimeout(30_000);
            InputStream in = client.getInputStream();
            try {
                assertThat(in.read()).isEqualTo(-1);
            } catch (IOException reset) {
                assertThat(reset).hasMessageContaining("reset");
            }
        }
    }

    private static ServerSocket listen() throws IOException {
        ServerSocket s = new ServerSocket();
        s.bind(ANY_PORT);
        return s;
    }

    private static InetSocketAddress address(ServerSocket s) {
        return new InetSocketAddress("127.0.0.1", s.getLocalPort());
    }

    private static void echoOnce(ServerSocket listener) {
        try (Socket s = listener.accept()) {
            s.setTcpNoDelay(true);
            int b = s.getInputStream().read();
            s.getOutputStream().write(b);
            s.getOutputStream().flush();
            s.getInputStream().read(); // until the client closes
        } catch (IOException ignored) {
            // the test closed it
        }
    }

    private static byte[] sha256(byte[] bytes) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(bytes);
    }
}
