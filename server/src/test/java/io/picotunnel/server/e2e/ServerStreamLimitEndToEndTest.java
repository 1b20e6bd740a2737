package io.picotunnel.server.e2e;

import ch.qos.logback.classic.Level;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.proxy.http.TunnelUpstream;
import io.picotunnel.server.tunnel.TcpStreamBridge;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The server's own session to a tunnel's only client at the server's {@code --max-streams}: the server opens no
 * stream, so an HTTP visitor learns that the tunnel is busy, not that the app failed; a tcp visitor is reset. A WARN
 * says so, at most once a minute for each and per tunnel.
 * Real server, client and targets.
 */
class ServerStreamLimitEndToEndTest extends AgainstAServicedTunnel {

    private static final String HOST = "full.test";
    /** With it, --max-tunnel-requests is 1: tcp visitors fill the session, as the client's own streams may. */
    private static final int MAX_STREAMS = 2;

    @BeforeEach
    void start() {
        startTestbed(Map.of(Setting.MAX_STREAMS, String.valueOf(MAX_STREAMS)), "full", HOST);
        testbed.startClient(tunnel.token);
        await().atMost(Duration.ofSeconds(10)).until(() -> testbed.isConnected(tunnel.id));
    }

    @Test
    void aRequestToATunnelWhoseOnlyClientSessionIsAtTheServersStreamLimitGets503TunnelBusy() throws Exception {
        HeldStreams full = HeldStreams.of(tunnel, MAX_STREAMS);
        try (full) {
            String answer = tunnel.get();

            assertThat(answer).startsWith("HTTP/1.1 503").contains("tunnel_busy")
                    .containsIgnoringCase("Retry-After: 5").doesNotContain("target_unreachable");
            assertThat(tunnel.web.requestCount()).isZero();
        }
    }

    /**
     * The WARN for a tunnel at --max-tunnel-requests and the one for a client connection at the server's --max-streams
     * are each at most once a minute, but apart: the first does not hold back the second a moment later.
     */
    @Test
    void aRequestAtTheServersStreamLimitIsLoggedEvenJustAfterOneOverTheTunnelsRequestLimit() throws Exception {
        try (LogCapture log = new LogCapture(TunnelUpstream.class, Level.INFO)) {
            try (Socket stalled = new Socket(InetAddress.getLoopbackAddress(), testbed.server().httpPort())) {
                // Its stream is open from its head on, and --max-tunnel-requests is 1.
                stalled.getOutputStream().write(("POST / HTTP/1.1\r\nHost: " + HOST + "\r\nContent-Length: 100\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                await().atMost(Duration.ofSeconds(10)).until(() -> testbed.server().openTunnelRequests(tunnel.id) == 1);
                assertThat(tunnel.get()).startsWith("HTTP/1.1 503").contains("tunnel_busy");
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> testbed.server().openTunnelRequests(tunnel.id) == 0);
            HeldStreams full = HeldStreams.of(tunnel, MAX_STREAMS);
            try (full) {
                assertThat(tunnel.get()).startsWith("HTTP/1.1 503").contains("tunnel_busy");
            }

            assertThat(log.messages(Level.WARN)).satisfiesExactly(
                    line -> assertThat(line).contains("--max-tunnel-requests"),
                    line -> assertThat(line).contains("--max-streams"));
        }
    }

    /**
     * The WARN at the server's --max-streams is once a minute per tunnel: one busy tunnel does not hide another's in
     * the same minute, and the same tunnel busy again within it is not logged again.
     */
    @Test
    void twoTunnelsAtTheServersStreamLimitInTheSameMinuteGetAWarnEachAndTheSameTunnelAgainNone() throws Exception {
        try (ServicedTunnel other = new ServicedTunnel(testbed, "other", "other.test");
             LogCapture log = new LogCapture(TunnelUpstream.class, Level.INFO)) {
            testbed.connect(other.id, other.token);
            HeldStreams bothFull = HeldStreams.of(tunnel, MAX_STREAMS).hold(other, MAX_STREAMS);
            try (bothFull) {
                assertThat(tunnel.get()).startsWith("HTTP/1.1 503").contains("tunnel_busy");
                assertThat(other.get()).startsWith("HTTP/1.1 503").contains("tunnel_busy");
                assertThat(tunnel.get()).startsWith("HTTP/1.1 503").contains("tunnel_busy");
            }

            assertThat(log.messages(Level.WARN)).satisfiesExactly(
                    line -> assertThat(line).contains("tunnel " + tunnel.id).contains("--max-streams"),
                    line -> assertThat(line).contains("tunnel " + other.id).contains("--max-streams"));
        }
    }

    /** A flood of tcp visitors at the server's --max-streams: each is reset, and one WARN says why, not one each. */
    @Test
    void tcpVisitorsToATunnelWhoseOnlyClientSessionIsAtTheServersStreamLimitAreResetUnderOneWarn() throws Exception {
        HeldStreams full = HeldStreams.of(tunnel, MAX_STREAMS);
        try (full; LogCapture log = new LogCapture(TcpStreamBridge.class, Level.INFO)) {
            for (int i = 0; i < 5; i++) {
                assertATcpVisitorIsReset(tunnel, "visitor " + i);
            }

            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .contains("tunnel " + tunnel.id + ": no stream to its client, stream limit of " + MAX_STREAMS
                            + " reached (--max-streams)")
                    .contains("resetting new tcp and TLS passthrough connections");
        }
    }

    /**
     * The tcp WARN at the server's --max-streams is once a minute per tunnel too: a second tunnel's visitors reset in
     * the same minute get a line of their own, the first tunnel's again none.
     */
    @Test
    void tcpVisitorsOfTwoTunnelsAtTheServersStreamLimitInTheSameMinuteGetAWarnEach() throws Exception {
        try (ServicedTunnel other = new ServicedTunnel(testbed, "other", "other.test");
             LogCapture log = new LogCapture(TcpStreamBridge.class, Level.INFO)) {
            testbed.connect(other.id, other.token);
            HeldStreams bothFull = HeldStreams.of(tunnel, MAX_STREAMS).hold(other, MAX_STREAMS);
            try (bothFull) {
                for (ServicedTunnel full : List.of(tunnel, other, tunnel)) {
                    assertATcpVisitorIsReset(full, "a visitor of tunnel " + full.id);
                }
            }

            assertThat(log.messages(Level.WARN)).satisfiesExactly(
                    line -> assertThat(line).startsWith("tunnel " + tunnel.id + ": no stream to its client"),
                    line -> assertThat(line).startsWith("tunnel " + other.id + ": no stream to its client"));
        }
    }

    /** A visitor of {@code full}'s tcp service is reset, given no byte first (within 10 s). */
    private static void assertATcpVisitorIsReset(ServicedTunnel full, String visitor) throws IOException {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), full.tcpPort)) {
            socket.setSoTimeout(10_000);

            assertThatThrownBy(() -> socket.getInputStream().read()).as(visitor)
                    .isInstanceOf(SocketException.class).hasMessageContaining("reset");
        }
    }
}
