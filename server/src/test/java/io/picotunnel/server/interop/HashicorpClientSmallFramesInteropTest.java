package io.picotunnel.server.interop;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.testkit.GoPeer;
import io.picotunnel.testkit.LogWatch;
import io.picotunnel.testkit.TcpTarget;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Our server with a hashicorp/yamux client (the Go peer's tunnel-client mode) that writes everything its
 * target sends in 16-byte Writes ({@code -write-chunk 16}), so 1 MiB reaches the server as 65536 Data frames.
 * The visitor of the tcp service reads only 2 s after connecting: meanwhile a window of tiny frames queues up
 * in the server; then the server must relay all of it, in order, and the end, without overflowing the stack
 * (issue 8: the delivery used to recurse once per queued frame).
 */
class HashicorpClientSmallFramesInteropTest {

    private static final int SIZE = 1024 * 1024;
    /** The visitor's delay before it reads: part of the scenario (a slow reader), not a wait for a result. */
    private static final Duration VISITOR_READ_DELAY = Duration.ofSeconds(2);
    /** A small receive buffer, so the visitor's kernel holds little and the server feels the slow reader. */
    private static final int VISITOR_RECEIVE_BUFFER = 64 * 1024;

    @TempDir
    Path dataDir;

    private final LogWatch overflows = LogWatch.forThrowable(StackOverflowError.class);
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private HashicorpClientServer bed;
    private TcpTarget target;

    @BeforeEach
    void setUp() {
        bed = new HashicorpClientServer(dataDir);
        target = TcpTarget.sendThenReceive(SIZE);
    }

    @AfterEach
    void tearDown() throws InterruptedException {
        bed.stopClients();
        threads.shutdownNow();
        threads.awaitTermination(10, TimeUnit.SECONDS);
        target.close();
        bed.close();
        overflows.close();
    }

    @Test
    void sixteenByteFramesReachAVisitorThatReadsLateByteExactThenEof() throws Exception {
        JsonNode tunnel = bed.createTunnel("go-small-frames");
        int port = bed.tcpService(tunnel.get("id").asText(), target.address()).port();
        GoPeer client = bed.connectedClient(tunnel, "-write-chunk", "16");

        try (Socket visitor = new Socket()) {
            visitor.setReceiveBufferSize(VISITOR_RECEIVE_BUFFER);
            visitor.setSoTimeout(60_000);
            visitor.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 10_000);
            CompletableFuture<Digest> read = CompletableFuture.supplyAsync(() -> digestToEof(visitor),
                    CompletableFuture.delayedExecutor(VISITOR_READ_DELAY.toMillis(), TimeUnit.MILLISECONDS, threads));

            try {
                await().atMost(Duration.ofSeconds(60))
                        .failFast("a StackOverflowError was logged", overflows::sawAny)
                        .until(read::isDone);
            } catch (Throwable e) {
                throw new AssertionError("the visitor read no EOF; logged StackOverflowErrors: " + overflows.seen()
                        + "\nGo client stderr:\n" + client.stderr(), e);
            }
            Digest received = read.join();
            assertThat(received.bytes()).isEqualTo(SIZE);
            assertThat(client.awaitLine("STREAM ")).isEqualTo("STREAM " + target.address() + " ok");
            visitor.shutdownOutput();

            // The target records its connection once the visitor's end (FIN) has come back to it.
            await().atMost(Duration.ofSeconds(30)).until(() -> target.exchanges().size() == 1);
            assertThat(received.sha256()).isEqualTo(target.exchanges().getFirst().shaSent());
        }
        overflows.assertNone();
    }

    private record Digest(long bytes, String sha256) {
    }

    private static Digest digestToEof(Socket socket) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            InputStream in = socket.getInputStream();
            byte[] buffer = new byte[64 * 1024];
            long total = 0;
            int n;
            while ((n = in.read(buffer)) >= 0) {
                digest.update(buffer, 0, n);
                total += n;
            }
            return new Digest(total, HexFormat.of().formatHex(digest.digest()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
