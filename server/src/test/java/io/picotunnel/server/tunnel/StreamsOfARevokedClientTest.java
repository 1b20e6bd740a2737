package io.picotunnel.server.tunnel;

import io.picotunnel.server.api.ApiClient;
import io.picotunnel.testkit.SocketEnding;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.FutureTask;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static io.picotunnel.server.tunnel.RawTunnelClient.FLAG_ACK;
import static io.picotunnel.server.tunnel.RawTunnelClient.TYPE_DATA;
import static io.picotunnel.testkit.SocketEnding.readToEndOrReset;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The streams open on a client's connection when its token is regenerated end at once, as in a lost connection, though
 * the connection itself ends only once the client has answered the close frame (at most 5 s): a visitor is not kept
 * waiting on a stream whose data the server now drops. A client speaking yamux by hand plays the client and a target
 * that keeps sending, and holds its answer to the close frame, as a client busy sending does until it reads it.
 */
class StreamsOfARevokedClientTest {

    /** Frames of the download: 200 of them stay below the stream's initial window, whatever credit comes back. */
    private static final int FRAME = 1024;
    private static final int MAX_FRAMES = 200;

    @TempDir
    Path dataDir;

    private RawClientTunnel bed;
    private final ScheduledExecutorService target = Executors.newSingleThreadScheduledExecutor();

    @BeforeEach
    void start() {
        bed = new RawClientTunnel(dataDir, "revoked", "revoked.test", Map.of());
    }

    @AfterEach
    void stop() {
        target.shutdownNow();
        bed.close();
    }

    @Test
    void aTcpDownloadInFlightWhenTheTokenIsRegeneratedIsResetAtOnce() throws Exception {
        try (RawTunnelClient client = bed.connect();
             Socket visitor = new Socket(InetAddress.getLoopbackAddress(), bed.tunnel.tcpPort)) {
            visitor.setSoTimeout(10_000);
            client.holdCloseAnswer();
            int stream = RawClientTunnel.awaitFirstSyn(client).streamId();
            client.send(RawTunnelClient.header(RawTunnelClient.TYPE_WINDOW_UPDATE, FLAG_ACK, stream, 0));
            keepSending(client, stream);
            InputStream in = visitor.getInputStream();
            assertThat(in.readNBytes(FRAME)).as("the download is under way").hasSize(FRAME);

            FutureTask<SocketEnding> end = new FutureTask<>(() -> readToEndOrReset(in));
            Thread.ofPlatform().daemon().start(end);
            ApiClient.Response regenerated = bed.testbed.api()
                    .post("/api/tunnels/" + bed.tunnel.id + "/regenerate", "");
            assertThat(regenerated.status()).as(regenerated.toString()).isEqualTo(200);

            // Before: the visitor waited for the lingering close's 5 s, the client's data dropped meanwhile.
            await().atMost(Duration.ofSeconds(2)).until(end::isDone);
            assertThat(end.get().how()).as("as when the connection closed at once")
                    .isEqualTo("reset: Connection reset");
            assertThat(client.closeStatus()).as("the close frame came too").isEqualTo(4001);
        }
    }

    /** As when the connection closed at once: the request may have reached the app, and the visitor hears so. */
    @Test
    void anHttpRequestAwaitingItsAnswerWhenTheTokenIsRegeneratedGets502TunnelLostAtOnce() throws Exception {
        try (RawTunnelClient client = bed.connect();
             Socket visitor = new Socket(InetAddress.getLoopbackAddress(), bed.testbed.server().httpPort())) {
            visitor.setSoTimeout(10_000);
            client.holdCloseAnswer();
            visitor.getOutputStream().write("GET / HTTP/1.1\r\nHost: revoked.test\r\nConnection: close\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            int stream = RawClientTunnel.awaitFirstSyn(client).streamId();
            client.send(RawTunnelClient.header(RawTunnelClient.TYPE_WINDOW_UPDATE, FLAG_ACK, stream, 0));

            FutureTask<String> answer = new FutureTask<>(() -> RawHttp.readToEnd(visitor.getInputStream()));
            Thread.ofPlatform().daemon().start(answer);
            ApiClient.Response regenerated = bed.testbed.api()
                    .post("/api/tunnels/" + bed.tunnel.id + "/regenerate", "");
            assertThat(regenerated.status()).as(regenerated.toString()).isEqualTo(200);

            await().atMost(Duration.ofSeconds(2)).until(answer::isDone);
            assertThat(answer.get()).startsWith("HTTP/1.1 502")
                    .contains("tunnel was lost while the request was under way");
        }
    }

    /** A target that keeps sending: a frame of data on {@code stream} every 50 ms, until a send fails. */
    private void keepSending(RawTunnelClient client, int stream) {
        byte[] frame = ByteBuffer.allocate(12 + FRAME).put(RawTunnelClient.header(TYPE_DATA, 0, stream, FRAME))
                .put("x".repeat(FRAME).getBytes(StandardCharsets.US_ASCII)).array();
        AtomicInteger sent = new AtomicInteger();
        target.scheduleWithFixedDelay(() -> {
            if (sent.incrementAndGet() > MAX_FRAMES) {
                throw new IllegalStateException("enough sent");
            }
            client.send(frame);
        }, 0, 50, TimeUnit.MILLISECONDS);
    }
}
