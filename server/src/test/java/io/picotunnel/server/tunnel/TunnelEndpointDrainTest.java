package io.picotunnel.server.tunnel;

import ch.qos.logback.classic.Level;
import io.netty.channel.Channel;
import io.picotunnel.protocol.ws.TunnelCloseStatus;
import io.picotunnel.protocol.yamux.YamuxSpec;
import io.picotunnel.server.store.Tunnel;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.WebSocketFrameReader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The drain of a stopping server and a client whose handshake it meets: the registration is held back by the
 * registry's test hook until the drain has begun, so the moment lasts as long as the test needs.
 */
class TunnelEndpointDrainTest {

    private static final String TOKEN = "b".repeat(64);
    private static final Tunnel TUNNEL = new Tunnel("0123456789abcdef", "demo", TOKEN, Instant.EPOCH, Instant.EPOCH);

    private RawPeerEndpoint peer;

    @BeforeEach
    void start() throws IOException {
        peer = RawPeerEndpoint.start(TunnelEndpointConfig.defaults(), TUNNEL, 1, "drain-test");
    }

    @AfterEach
    void stop() {
        peer.close();
    }

    @Test
    void aClientUpgradedAsTheDrainBeginsGetsGoAwayThenTheServerStoppingCloseAtOnce() throws Exception {
        CompletableFuture<Runnable> held = new CompletableFuture<>();
        peer.registry().registration = (channel, register) -> held.complete(() -> channel.eventLoop().execute(register));
        try (Socket client = peer.upgrade(TOKEN, TunnelHandshakeHandler.VERSION_HEADER + ": 1.0.0\r\n")) {
            Runnable register = held.get(5, TimeUnit.SECONDS);
            assertThat(peer.endpoint().drain(Duration.ofMinutes(5))).as("no stream open").isZero();
            register.run();
            // The endpoint is not closed here: the close frame can only come from the drain's own path.
            assertThat(framesUntilClose(new WebSocketFrameReader(client, 1 << 16, Duration.ofSeconds(10))))
                    .containsSubsequence("GoAway", "close " + TunnelCloseStatus.SERVER_STOPPING.code());
        }
    }

    @Test
    void aClientUpgradedAsTheDrainBeginsIsNeitherRegisteredNorLoggedAsConnected() throws Exception {
        List<String> events = peer.recordClientEvents();
        CompletableFuture<Runnable> held = new CompletableFuture<>();
        peer.registry().registration = (channel, register) -> held.complete(() -> channel.eventLoop().execute(register));
        try (LogCapture log = new LogCapture(TunnelHandshakeHandler.class, Level.INFO);
             Socket client = peer.upgrade(TOKEN, TunnelHandshakeHandler.VERSION_HEADER + ": 1.0.0\r\n")) {
            Runnable register = held.get(5, TimeUnit.SECONDS);
            assertThat(peer.endpoint().drain(Duration.ofMinutes(5))).as("no stream open").isZero();
            register.run();
            assertThat(framesUntilClose(new WebSocketFrameReader(client, 1 << 16, Duration.ofSeconds(10))))
                    .containsSubsequence("GoAway", "close " + TunnelCloseStatus.SERVER_STOPPING.code());
            assertThat(client.getInputStream().read()).as("the server closed the connection").isEqualTo(-1);
            assertThat(log.messages(Level.INFO)).noneMatch(line -> line.contains("connected"));
            assertThat(events).isEmpty();
            assertThat(peer.registry().connections(TUNNEL.id())).isEmpty();
        }
    }
    /** As a client upgraded as the drain begins that sent a ping meanwhile: its close answer is read, no reset. */
    @Test
    void aClientUpgradedAsTheDrainBeginsHasItsCloseAnswerReadThenTheConnectionEnds() throws Exception {
        CompletableFuture<Runnable> held = new CompletableFuture<>();
        peer.registry().registration = (channel, register) -> held.complete(() -> channel.eventLoop().execute(register));
        try (Socket client = peer.upgrade(TOKEN, TunnelHandshakeHandler.VERSION_HEADER + ": 1.0.0\r\n")) {
            Runnable register = held.get(5, TimeUnit.SECONDS);
            client.getOutputStream().write(EMPTY_PING);
            assertThat(peer.endpoint().drain(Duration.ofMinutes(5))).as("no stream open").isZero();
            register.run();
            // Before: the answer's write failed, "Connection reset by peer".
            assertTheCloseAnswerIsReadThenTheConnectionEnds(client, TunnelCloseStatus.SERVER_STOPPING);
        }
    }

    /**
     * A registered client that keeps sending (pings here, stream data in life) when its tunnel is deleted: the server
     * reads and drops what it still sends after the close frame, so the client reads the close frame and then the
     * server's FIN, and its sending meets no reset (which, coming before the client has read what the server still had
     * to send, would discard the close frame).
     */
    @Test
    void aRegisteredClientSendingWhenRevokedReadsTheCloseFrameThenTheEndOfTheConnection() throws Exception {
        assertTheCloseFrameAndTheEndAreReadWhileSending(() -> peer.registry().disconnect(TUNNEL.id()),
                TunnelCloseStatus.TUNNEL_DELETED);
    }

    /** As above for a registered client with no stream when the server drains. */
    @Test
    void aRegisteredClientSendingWhenDrainedReadsTheCloseFrameThenTheEndOfTheConnection() throws Exception {
        assertTheCloseFrameAndTheEndAreReadWhileSending(
                () -> assertThat(peer.endpoint().drain(Duration.ofSeconds(5))).as("no stream open").isZero(),
                TunnelCloseStatus.SERVER_STOPPING);
    }

    /**
     * Registers a raw client that sends pings without pause (at most 10 s, 100,000 of them) while {@code end} ends its
     * connection, and reads until the server's end of it: the close frame saying {@code why}, then EOF; it stops
     * sending once it has the close frame, and none of its sends failed.
     */
    private void assertTheCloseFrameAndTheEndAreReadWhileSending(Runnable end, TunnelCloseStatus why)
            throws Exception {
        try (Socket client = peer.upgrade(TOKEN, TunnelHandshakeHandler.VERSION_HEADER + ": 1.0.0\r\n")) {
            await().atMost(5, TimeUnit.SECONDS).until(() -> peer.registry().isConnected(TUNNEL.id()));
            AtomicBoolean closeFrameRead = new AtomicBoolean();
            CompletableFuture<Void> sending = CompletableFuture.runAsync(() -> {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                try {
                    OutputStream out = client.getOutputStream();
                    for (int i = 0; i < 100_000 && !closeFrameRead.get() && System.nanoTime() < deadline; i++) {
                        out.write(EMPTY_PING);
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }, task -> Thread.ofPlatform().daemon().start(task));

            end.run();

            WebSocketFrameReader frames = new WebSocketFrameReader(client, 1 << 16, Duration.ofSeconds(10));
            for (int i = 0; i < 1_000_000 && !closeFrameRead.get(); i++) {
                WebSocketFrameReader.Frame frame = frames.next();
                if (frame.opcode() == WebSocketFrameReader.CLOSE) {
                    assertThat(Short.toUnsignedInt(ByteBuffer.wrap(frame.payload()).getShort())).isEqualTo(why.code());
                    closeFrameRead.set(true);
                }
            }
            assertThat(closeFrameRead).isTrue();
            // Before: "Connection reset by peer": the server closed with pings unread, or got more after its close.
            assertThat(sending).as("the pings sent until the close frame was read").succeedsWithin(15, TimeUnit.SECONDS);
            assertThat(client.getInputStream().read()).as("the server's end of the connection").isEqualTo(-1);
        }
    }

    /** A masked ping with no payload, as a client sends it. */
    static final byte[] EMPTY_PING = {(byte) (0x80 | WebSocketFrameReader.PING), (byte) 0x80, 0, 0, 0, 0};

    /**
     * Reads GoAway and the close frame saying {@code why} on {@code client}, answers with a close frame (status 1000,
     * masked) and sees the server's end of the connection, not a reset.
     */
    static void assertTheCloseAnswerIsReadThenTheConnectionEnds(Socket client, TunnelCloseStatus why)
            throws IOException {
        assertThat(framesUntilClose(new WebSocketFrameReader(client, 1 << 16, Duration.ofSeconds(10))))
                .containsSubsequence("GoAway", "close " + why.code());
        client.getOutputStream().write(new byte[] {(byte) (0x80 | WebSocketFrameReader.CLOSE), (byte) 0x82, 0, 0, 0, 0,
                0x03, (byte) 0xe8});
        assertThat(client.getInputStream().read()).as("the server's end of the connection").isEqualTo(-1);
    }

    /**
     * The drain and a revocation end the same idle connection at once, while the server's writes to it wait (a peer
     * that pings without reading): the close frame of the first goes out, the second none, though the connection is
     * still open when the second comes.
     */
    @Test
    void aClientDrainedAndRevokedAtOnceGetsOneCloseFrame() throws Exception {
        Socket socket = new Socket();
        socket.setReceiveBufferSize(4096);
        try (Socket client = peer.upgrade(socket, TOKEN, TunnelHandshakeHandler.VERSION_HEADER + ": 1.0.0\r\n")) {
            await().atMost(5, TimeUnit.SECONDS).until(() -> peer.registry().isConnected(TUNNEL.id()));
            Channel connection = peer.registry().connections(TUNNEL.id()).getFirst().session().parent();
            byte[] pings = pings(8192);
            OutputStream out = client.getOutputStream();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            for (int round = 0; round < 64 && connection.isWritable() && System.nanoTime() < deadline; round++) {
                out.write(pings);
            }
            assertThat(connection.isWritable()).as("the pongs wait for a peer that does not read").isFalse();

            peer.registry().disconnect(TUNNEL.id());
            assertThat(peer.endpoint().drain(Duration.ofSeconds(5))).as("no stream open").isZero();

            List<Integer> closes = new ArrayList<>();
            WebSocketFrameReader frames = new WebSocketFrameReader(client, 1 << 16, Duration.ofSeconds(10));
            try {
                for (int i = 0; i < 1_000_000; i++) {
                    WebSocketFrameReader.Frame frame = frames.next();
                    if (frame.opcode() == WebSocketFrameReader.CLOSE) {
                        closes.add(Short.toUnsignedInt(ByteBuffer.wrap(frame.payload()).getShort()));
                    }
                }
            } catch (EOFException | SocketException endOfConnection) {
                // Read to the end: every close frame the server sent is in.
            }
            // Without the guard: [4002, 4000], both written behind the pongs.
            assertThat(closes).containsExactly(TunnelCloseStatus.TUNNEL_DELETED.code());
        }
    }

    /** {@code count} masked pings (mask 0: the payload goes as is) of 125 bytes each. */
    private static byte[] pings(int count) {
        ByteArrayOutputStream batch = new ByteArrayOutputStream();
        for (int i = 0; i < count; i++) {
            batch.write(0x80 | WebSocketFrameReader.PING);
            batch.write(0x80 | 125);
            batch.writeBytes(new byte[4 + 125]);
        }
        return batch.toByteArray();
    }

    /** The yamux GoAway and the close frame the server sends, in order, up to its close frame. */
    static List<String> framesUntilClose(WebSocketFrameReader frames) throws IOException {
        List<String> seen = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            WebSocketFrameReader.Frame frame = frames.next();
            if (frame.opcode() == WebSocketFrameReader.CLOSE) {
                seen.add("close " + Short.toUnsignedInt(ByteBuffer.wrap(frame.payload()).getShort()));
                return seen;
            }
            if (frame.opcode() == WebSocketFrameReader.BINARY && frame.payload().length >= YamuxSpec.HEADER_LENGTH
                    && frame.payload()[1] == YamuxSpec.TYPE_GO_AWAY) {
                seen.add("GoAway");
            }
        }
        return seen;
    }
}
