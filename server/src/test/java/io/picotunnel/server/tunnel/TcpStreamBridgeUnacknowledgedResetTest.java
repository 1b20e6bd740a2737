package io.picotunnel.server.tunnel;

import ch.qos.logback.classic.Level;
import io.picotunnel.protocol.yamux.ResetReason;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static io.picotunnel.server.tunnel.RawTunnelClient.FLAG_RST;
import static io.picotunnel.server.tunnel.RawTunnelClient.TYPE_WINDOW_UPDATE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * A client that resets a tcp visitor's stream before acknowledging it, for a reason that is no refusal (here: it is
 * stopping and its grace ended), with no client having refused the stream before: the visitor is reset and the log
 * says why. A client speaking yamux by hand sends the reset, as no client of ours is made to send it at that moment.
 */
class TcpStreamBridgeUnacknowledgedResetTest {

    @TempDir
    Path dataDir;

    private RawClientTunnel bed;

    @BeforeEach
    void start() {
        bed = new RawClientTunnel(dataDir, "raw", "raw.test", Map.of());
    }

    @AfterEach
    void stop() {
        bed.close();
    }

    @Test
    void aStreamResetBeforeItsAckForAReasonThatIsNoRefusalResetsTheVisitorAndSaysWhy() throws Exception {
        try (RawTunnelClient client = bed.connect();
             LogCapture log = new LogCapture(TcpStreamBridge.class, Level.INFO);
             Socket visitor = new Socket(InetAddress.getLoopbackAddress(), bed.tunnel.tcpPort)) {
            visitor.setSoTimeout(10_000);
            visitor.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
            RawTunnelClient.Frame syn = RawClientTunnel.awaitFirstSyn(client);

            client.send(RawTunnelClient.header(TYPE_WINDOW_UPDATE, FLAG_RST, syn.streamId(),
                    ResetReason.CLIENT_STOPPING.code()));

            assertThatThrownBy(() -> visitor.getInputStream().read())
                    .isInstanceOf(SocketException.class).hasMessageContaining("reset");
            await().atMost(10, TimeUnit.SECONDS).untilAsserted(() -> assertThat(log.messages(Level.INFO))
                    .singleElement().asString()
                    .contains("the tunnel's client is stopping", "is reset")
                    .doesNotContain("refused"));
        }
    }
}
