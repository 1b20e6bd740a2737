package io.picotunnel.server.tunnel;

import ch.qos.logback.classic.Level;
import io.picotunnel.protocol.yamux.ResetReason;
import io.picotunnel.server.e2e.ServicedTunnel;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static io.picotunnel.server.tunnel.RawTunnelClient.FLAG_RST;
import static io.picotunnel.server.tunnel.RawTunnelClient.FLAG_SYN;
import static io.picotunnel.server.tunnel.RawTunnelClient.TYPE_PING;
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

    private Testbed testbed;
    private ServicedTunnel tunnel;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void start() {
        testbed = new Testbed(dataDir);
        tunnel = new ServicedTunnel(testbed, "raw", "raw.test");
    }

    @AfterEach
    void stop() {
        testbed.close();
        tunnel.close();
        http.close();
    }

    @Test
    void aStreamResetBeforeItsAckForAReasonThatIsNoRefusalResetsTheVisitorAndSaysWhy() throws Exception {
        try (RawTunnelClient client = RawTunnelClient.connect(http, testbed.tunnelPort(), tunnel.token);
             LogCapture log = new LogCapture(TcpStreamBridge.class, Level.INFO);
             Socket visitor = new Socket(InetAddress.getLoopbackAddress(), tunnel.tcpPort)) {
            visitor.setSoTimeout(10_000);
            visitor.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
            RawTunnelClient.Frame syn = await().atMost(10, TimeUnit.SECONDS).until(
                    () -> client.frames().stream().filter(f -> f.type() != TYPE_PING && (f.flags() & FLAG_SYN) != 0).findFirst().orElse(null),
                    f -> f != null);

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
