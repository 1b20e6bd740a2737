package io.picotunnel.server.tunnel;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOutboundBuffer;
import io.picotunnel.server.store.Tunnel;
import io.picotunnel.testkit.WebSocketFrameReader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The tunnel endpoint against a peer on a raw socket (upgrade and masked frames by hand) that does what a real
 * client would not: pings without reading, slices frames into one-byte messages.
 */
class TunnelEndpointHostilePeerTest {

    private static final String TOKEN = "f".repeat(64);
    private static final Tunnel TUNNEL = new Tunnel("00000000000000aa", "raw", TOKEN, Instant.EPOCH, Instant.EPOCH);

    private RawPeerEndpoint peer;

    @BeforeEach
    void start() throws IOException {
        peer = RawPeerEndpoint.start(TunnelEndpointConfig.defaults(), TUNNEL, 2, "hostile-peer-test");
    }

    @AfterEach
    void stop() {
        peer.close();
    }

    @Test
    void webSocketPingsFromAPeerThatDoesNotReadQueueAtMostOnePongPastTheWriteMarks() throws Exception {
        try (Socket socket = upgrade()) {
            Channel connection = serverSide();
            ByteArrayOutputStream batch = new ByteArrayOutputStream();
            for (int i = 0; i < 8192; i++) {
                frame(batch, 0x9, new byte[125]);
            }
            byte[] pings = batch.toByteArray(); // 1 MiB of pings, 64 MiB in all unless the server closes first
            OutputStream out = socket.getOutputStream();
            long mostQueued = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(8);
            for (int round = 0; round < 64 && System.nanoTime() < deadline && connection.isActive(); round++) {
                out.write(pings);
                mostQueued = Math.max(mostQueued, queued(connection));
            }
            // Before: every ping answered whatever the connection's state, 47 MB queued after 8 s and growing.
            assertThat(mostQueued).as("bytes queued for a peer that does not read").isLessThan(2L * 1024 * 1024);
            assertThat(connection.isActive()).isTrue();

            // The latest ping is still answered once the peer reads again.
            byte[] last = "the latest ping".getBytes(StandardCharsets.US_ASCII);
            ByteArrayOutputStream one = new ByteArrayOutputStream();
            frame(one, 0x9, last);
            out.write(one.toByteArray());
            assertThat(readUntilPong(socket, last)).isTrue();
        }
    }

    @Test
    void oneByteMessagesCarryingADataFrameForNoStreamAreSkippedAndTheFramingStaysInStep() throws Exception {
        try (Socket socket = upgrade()) {
            Channel connection = serverSide();
            OutputStream out = socket.getOutputStream();
            ByteArrayOutputStream header = new ByteArrayOutputStream();
            frame(header, 0x2, RawTunnelClient.header(RawTunnelClient.TYPE_DATA, 0, 1001, 16 * 65536));
            out.write(header.toByteArray());
            ByteArrayOutputStream batch = new ByteArrayOutputStream();
            for (int i = 0; i < 65536; i++) {
                frame(batch, 0x2, new byte[] {7});
            }
            byte[] bytes = batch.toByteArray();
            for (int round = 0; round < 16; round++) { // 1 MiB of payload in one-byte messages, 7 MiB on the wire
                out.write(bytes);
            }
            // A yamux ping after them is answered: the framing stayed in step, and the connection is alive.
            ByteArrayOutputStream ping = new ByteArrayOutputStream();
            frame(ping, 0x2, RawTunnelClient.header(RawTunnelClient.TYPE_PING, RawTunnelClient.FLAG_SYN, 0, 4242));
            out.write(ping.toByteArray());
            byte[] answer = RawTunnelClient.header(RawTunnelClient.TYPE_PING, 2, 0, 4242); // ACK
            assertThat(readUntilBinary(socket, answer)).isTrue();
            assertThat(connection.isActive()).isTrue();
        }
    }

    private Socket upgrade() throws IOException {
        Socket socket = new Socket();
        socket.setReceiveBufferSize(4096);
        return peer.upgrade(socket, TOKEN, "");
    }

    private Channel serverSide() {
        await().atMost(5, TimeUnit.SECONDS).until(() -> peer.registry().isConnected(TUNNEL.id()));
        return peer.registry().connections(TUNNEL.id()).getFirst().session().parent();
    }

    /** A masked frame (mask 0: the payload goes as is) of fewer than 126 bytes. */
    private static void frame(ByteArrayOutputStream out, int opcode, byte[] payload) {
        out.write(0x80 | opcode);
        out.write(0x80 | payload.length);
        out.writeBytes(new byte[4]);
        out.writeBytes(payload);
    }

    private static long queued(Channel connection) throws Exception {
        return connection.eventLoop().submit(() -> {
            ChannelOutboundBuffer buffer = connection.unsafe().outboundBuffer();
            return buffer == null ? 0L : buffer.totalPendingWriteBytes();
        }).get(5, TimeUnit.SECONDS);
    }

    private static boolean contains(byte[] body, byte[] part) {
        for (int i = 0; i + part.length <= body.length; i++) {
            if (Arrays.equals(body, i, i + part.length, part, 0, part.length)) {
                return true;
            }
        }
        return false;
    }

    private static boolean readUntilPong(Socket socket, byte[] payload) throws IOException {
        return readUntil(socket, WebSocketFrameReader.PONG, payload);
    }

    private static boolean readUntilBinary(Socket socket, byte[] payload) throws IOException {
        return readUntil(socket, WebSocketFrameReader.BINARY, payload);
    }

    /**
     * Reads the server's (unmasked) frames until one with this opcode holds these bytes (yamux frames may share a
     * binary message): at most 64 MiB, 10 s a read.
     */
    private static boolean readUntil(Socket socket, int opcode, byte[] payload) throws IOException {
        WebSocketFrameReader frames = new WebSocketFrameReader(socket, 64 * 1024 * 1024, Duration.ofSeconds(10));
        while (frames.bytesRead() < 64L * 1024 * 1024) {
            WebSocketFrameReader.Frame frame = frames.next();
            if (frame.opcode() == opcode && contains(frame.payload(), payload)) {
                return true;
            }
        }
        return false;
    }
}
