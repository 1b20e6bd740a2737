package io.picotunnel.server.tunnel;

import io.netty.channel.ChannelInboundHandlerAdapter;
import io.picotunnel.protocol.yamux.ResetReason;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.protocol.yamux.YamuxSpec;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;
import io.picotunnel.server.store.Tunnel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.Socket;
import java.time.Instant;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A stream the server opened that the client never acknowledged, on a connection the client closed right after its
 * GoAway: refused (reason 8, so that a request may go to another client) only for a client that says its version,
 * ours, which takes no stream after its GoAway; hashicorp/yamux may still take one then, its ACK lost with the close.
 */
class TunnelEndpointClientGoAwayTest {

    private static final String TOKEN = "a".repeat(64);
    private static final Tunnel TUNNEL = new Tunnel("0123456789abcdef", "demo", TOKEN, Instant.EPOCH, Instant.EPOCH);

    private RawPeerEndpoint peer;
    private TunnelRegistry registry;

    @BeforeEach
    void start() throws IOException {
        peer = RawPeerEndpoint.start(TunnelEndpointConfig.defaults(), TUNNEL, 1, "tunnel-test");
        registry = peer.registry();
    }

    @AfterEach
    void stop() {
        peer.close();
    }

    @Test
    void aStreamOurClientNeverAcknowledgedBeforeItsGoAwayAndCloseEndsAsRefused() throws Exception {
        assertThat(unacknowledgedAtGoAwayAndClose(TunnelHandshakeHandler.VERSION_HEADER + ": 1.0.0\r\n"))
                .isEqualTo(ResetReason.REFUSED_GOING_AWAY);
    }

    @Test
    void aStreamAClientWithoutVersionNeverAcknowledgedBeforeItsGoAwayAndCloseGivesNoReason() throws Exception {
        assertThat(unacknowledgedAtGoAwayAndClose("")).as("a hashicorp/yamux client may have taken it")
                .isEqualTo(ResetReason.NONE);
    }

    /** The server opens a stream; the client sends GoAway and closes, never acknowledging it. */
    private ResetReason unacknowledgedAtGoAwayAndClose(String extraHeaders) throws Exception {
        YamuxStreamChannel stream;
        try (Socket client = peer.upgrade(TOKEN, extraHeaders)) {
            await().atMost(5, TimeUnit.SECONDS).until(() -> registry.connections(TUNNEL.id()).size() == 1);
            YamuxSession session = registry.connections(TUNNEL.id()).getFirst().session();
            stream = session.openStream(new ChannelInboundHandlerAdapter()).get(5, TimeUnit.SECONDS);
            byte[] goAway = new byte[12];
            goAway[1] = YamuxSpec.TYPE_GO_AWAY;
            client.getOutputStream().write(maskedBinaryFrame(goAway));
            client.getOutputStream().flush();
            await().atMost(5, TimeUnit.SECONDS).until(() -> session.goAwayReceived().isSuccess());
        }
        await().atMost(5, TimeUnit.SECONDS).until(stream::isReset);
        return stream.peerResetReason();
    }

    private static byte[] maskedBinaryFrame(byte[] payload) {
        byte[] mask = {0x11, 0x22, 0x33, 0x44};
        byte[] frame = new byte[2 + 4 + payload.length];
        frame[0] = (byte) 0x82;
        frame[1] = (byte) (0x80 | payload.length);
        System.arraycopy(mask, 0, frame, 2, 4);
        for (int i = 0; i < payload.length; i++) {
            frame[6 + i] = (byte) (payload[i] ^ mask[i % 4]);
        }
        return frame;
    }
}
