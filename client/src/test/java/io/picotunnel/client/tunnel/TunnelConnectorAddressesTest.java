package io.picotunnel.client.tunnel;

import ch.qos.logback.classic.Level;
import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.Setting;
import io.picotunnel.client.config.ServerAddress;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.testkit.HttpHead;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.Ports;
import io.picotunnel.testkit.SilentListener;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A server name with several addresses (an A and an AAAA record): the client connects as Go's net.Dialer does, to
 * those of the first address's family in turn and, 300 ms later, to those of the other beside them
 * ({@link HappyEyeballs}), all of them within the one connect timeout, which each family shares as Go shares it. Names under
 * {@code .dual.test} resolve to 127.0.0.1 then ::1 ({@link SlowDnsResolverProvider}).
 */
class TunnelConnectorAddressesTest extends ClientTestBase {

    private static final String TOKEN = "e".repeat(64);

    @Test
    void aServerReachableOnlyOnItsSecondAddressGetsTheUpgrade() throws Exception {
        // As on a network without IPv4 to the server, while its name resolves to the IPv4 address first.
        try (ServerSocket server = new ServerSocket()) {
            server.bind(new InetSocketAddress(InetAddress.getByName("::1"), 0));
            server.setSoTimeout(8_000);
            client = new TunnelClient(ClientConfig.of(
                    ServerAddress.parse("ws://tunnel.dual.test:" + server.getLocalPort()), TOKEN)
                    .withShutdownGrace(Duration.ZERO));
            client.start();
            try (Socket accepted = server.accept()) {
                accepted.setSoTimeout(10_000);
                InputStream in = accepted.getInputStream();
                String requestLine = new String(in.readNBytes("GET /tunnel ".length()), StandardCharsets.US_ASCII);
                assertThat(requestLine).isEqualTo("GET /tunnel ");
            }
        }
    }

    @Test
    void aServerWhoseIpv4AddressIsSilentIsReachedOnItsIpv6AddressAfterTheFallbackDelay() throws Exception {
        // As a name whose A record points at a host that drops the packets and whose AAAA record works: ::1 is tried
        // 300 ms after 127.0.0.1, beside it, not once 127.0.0.1's share (5 of the 10 s) has run out.
        try (SilentListener silent = new SilentListener(InetAddress.getByName("127.0.0.1"), 0);
             ServerSocket server = new ServerSocket()) {
            server.bind(new InetSocketAddress(InetAddress.getByName("::1"), silent.port()));
            server.setSoTimeout(15_000);
            long start = System.nanoTime();
            startClient("ws://tunnel.dual.test:" + silent.port(), Duration.ofSeconds(10));
            try (Socket accepted = server.accept()) {
                accepted.setSoTimeout(10_000);
                String requestLine = new String(accepted.getInputStream().readNBytes("GET /tunnel ".length()),
                        StandardCharsets.US_ASCII);
                long upgradeMillis = (System.nanoTime() - start) / 1_000_000;
                assertThat(requestLine).isEqualTo("GET /tunnel ");
                assertThat(upgradeMillis).as("ms until ::1 got the upgrade").isBetween(
                        HappyEyeballs.FALLBACK_DELAY.toMillis() - 50, 3_000L);
            }
        }
    }

    @Test
    void theAddressThatLostTheRaceLeavesNoConnectionOpenAtTheServer() throws Exception {
        // 127.0.0.1 drops the SYNs until ::1 has won, then takes them: the attempt on it, called off, must not come
        // through on a SYN sent again (1 s, 3 s after the first), or must be closed, without a word, if it does.
        try (SilentListener silent = new SilentListener(InetAddress.getByName("127.0.0.1"), 0);
             ServerSocket server = new ServerSocket()) {
            server.bind(new InetSocketAddress(InetAddress.getByName("::1"), silent.port()));
            server.setSoTimeout(15_000);
            startClient("ws://tunnel.dual.test:" + silent.port(), Duration.ofSeconds(10));
            try (Socket winner = server.accept()) {
                winner.setSoTimeout(10_000);
                assertThat(new String(winner.getInputStream().readNBytes("GET /tunnel ".length()),
                        StandardCharsets.US_ASCII)).isEqualTo("GET /tunnel ");
                silent.startAnswering();

                try (Socket loser = silent.accept(Duration.ofSeconds(4))) {
                    if (loser != null) {
                        loser.setSoTimeout(5_000);
                        assertThat(TargetDialerAddressesTest.endOf(loser)).as("the losing connection's end")
                                .isIn("EOF", "reset");
                    }
                }
            }
        }
    }

    @Test
    void anAttemptOnANameWhoseAddressesAreAllSilentEndsWithinTheOneConnectTimeout() throws Exception {
        Duration timeout = Duration.ofSeconds(4);
        try (SilentListener first = new SilentListener(InetAddress.getByName("127.0.0.1"), 0);
             SilentListener second = new SilentListener(InetAddress.getByName("::1"), first.port());
             LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            long start = System.nanoTime();
            startClient("ws://tunnel.dual.test:" + second.port(), timeout);

            await().atMost(Duration.ofSeconds(20)).until(() -> !log.messages(Level.WARN).isEmpty());
            long failedMillis = (System.nanoTime() - start) / 1_000_000;
            assertThat(log.messages(Level.WARN).getFirst()).contains("No answer from tunnel.dual.test:" + first.port()
                    + " within 4 s");
            // Both families within the one 4 s (::1 from 300 ms on), not 4 s for each: 8 s in all.
            assertThat(failedMillis).as("ms until the attempt failed").isGreaterThanOrEqualTo(3_900).isLessThan(7_000);
        }
    }

    @Test
    void anAttemptWhoseFirstAddressIsSilentAndSecondRefusesIsReportedAsNoAnswer() throws Exception {
        // As Go's dialSerial reports it: the first address's error is the most relevant. Here the second address
        // refuses at once (nothing listens on ::1 at that port) 300 ms after the first was tried, which goes on without
        // an answer for the rest of the 4 s.
        try (SilentListener silent = new SilentListener(InetAddress.getByName("127.0.0.1"), 0);
             LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            startClient("ws://tunnel.dual.test:" + silent.port(), Duration.ofSeconds(4));

            await().atMost(Duration.ofSeconds(20)).until(() -> !log.messages(Level.WARN).isEmpty());
            assertThat(log.messages(Level.WARN).getFirst())
                    .contains("No answer from tunnel.dual.test:" + silent.port() + " within 4 s")
                    .doesNotContain("Nothing accepts connections");
        }
    }

    @Test
    void theConnectTimeoutSettingBoundsAnAttempt() throws Exception {
        try (SilentListener silent = new SilentListener(InetAddress.getByName("127.0.0.1"), 0);
             LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            ClientConfig config = ClientConfig.resolve(Map.of(Setting.SERVER, "ws://" + silent.address(),
                    Setting.TOKEN, TOKEN, Setting.SHUTDOWN_GRACE, "0s"), Map.of("PICOTUNNEL_CONNECT_TIMEOUT", "1s"));
            long start = System.nanoTime();
            client = new TunnelClient(config);
            client.start();

            await().atMost(Duration.ofSeconds(20)).until(() -> !log.messages(Level.WARN).isEmpty());
            long failedMillis = (System.nanoTime() - start) / 1_000_000;
            assertThat(log.messages(Level.WARN).getFirst()).contains("No answer from " + silent.address() + " within 1 s");
            assertThat(failedMillis).as("ms until the attempt failed").isBetween(900L, 5_000L);
        }
    }

    @Test
    void anAttemptWhoseTimeRanOutBeforeItsFirstAddressIsReportedAsATimeout() throws Exception {
        // A connect timeout of 1 ns is over before the event loop takes the looked-up addresses: none is tried. The
        // timeout counts from before the lookup, which nearly always is still running then; should its answer reach
        // the event loop first, no time is left for the first address.
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
             LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            startClient("ws://tunnel.dual.test:" + server.getLocalPort(), Duration.ofNanos(1));

            await().atMost(Duration.ofSeconds(20)).until(() -> !log.messages(Level.WARN).isEmpty());
            assertThat(log.messages(Level.WARN).getFirst()).containsAnyOf(
                    "No answer from tunnel.dual.test:" + server.getLocalPort(),
                    "The lookup of the server name tunnel.dual.test did not end within");
        }
    }

    /** A client of {@code server} whose connect timeout is {@code connectTimeout}. */
    private void startClient(String server, Duration connectTimeout) {
        client = new TunnelClient(ClientConfig.of(ServerAddress.parse(server), TOKEN).withShutdownGrace(Duration.ZERO),
                YamuxConfig.defaults(), new Backoff(), connectTimeout);
        client.start();
    }

    /** The line read "(finishConnect(..) failed with error(-111): Connection refused: /127.0.0.1:1)". */
    @Test
    void aServerPortWhereNothingListensIsSaidToRefuseInPlainWords() {
        int closed = Ports.freePort();
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            startClient("ws://127.0.0.1:" + closed, Duration.ofSeconds(10));

            await().atMost(Duration.ofSeconds(20)).until(() -> !log.messages(Level.WARN).isEmpty());
            assertThat(log.messages(Level.WARN).getFirst()).startsWith("cannot connect to ws://127.0.0.1:" + closed
                    + ": Nothing accepts connections on 127.0.0.1:" + closed + " (connection refused): check");
        }
    }

    @Test
    void aServerNameWithAnUnderscoreGetsTheUpgradeWithItsHost() throws Exception {
        // A Docker Compose service name such as tunnel_server: java.net.URI finds no host in ws://tunnel_server:8443,
        // and the WebSocket handshaker, which took the Host header from it, failed every attempt.
        try (ServerSocket server = new ServerSocket()) {
            server.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
            server.setSoTimeout(8_000);
            String host = "tunnel_server.dual.test:" + server.getLocalPort();
            client = new TunnelClient(ClientConfig.of(ServerAddress.parse("ws://" + host), TOKEN)
                    .withShutdownGrace(Duration.ZERO));
            client.start();
            try (Socket accepted = server.accept()) {
                accepted.setSoTimeout(10_000);
                String head = HttpHead.read(accepted.getInputStream());
                assertThat(head).startsWith("GET /tunnel HTTP/1.1\r\n").containsIgnoringCase("\r\nhost: " + host + "\r\n");
            }
        }
    }

    @Test
    void theHostHeaderLeavesOutTheSchemesDefaultPortAsTheHandshakerDid() {
        assertThat(TunnelConnector.hostHeader(ServerAddress.parse("wss://tunnel.example.com:443")))
                .isEqualTo("tunnel.example.com");
        assertThat(TunnelConnector.hostHeader(ServerAddress.parse("ws://[::1]:80"))).isEqualTo("[::1]");
        assertThat(TunnelConnector.hostHeader(ServerAddress.parse("wss://[::1]:8443"))).isEqualTo("[::1]:8443");
        assertThat(TunnelConnector.hostHeader(ServerAddress.parse("ws://tunnel.example.com:443")))
                .isEqualTo("tunnel.example.com:443");
    }
}
