package io.picotunnel.server.e2e;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.net.ConnectionLimits;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.testkit.EchoServer;
import io.picotunnel.testkit.HttpHead;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.VisitorSockets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code --max-connections} and {@code --max-connections-per-address} on the listeners of tcp services and on the
 * tunnel endpoint, through the server, a tunnel and our client. Other loopback addresses (127.0.0.2, 127.0.0.3)
 * stand for other visitors; behind the PROXY protocol, the addresses the headers name.
 */
class ConnectionLimitsEndToEndTest {

    /** Visitors a front proxy on 127.0.0.1 names in its PROXY protocol headers. */
    private static final String VISITOR_A = "198.51.100.1";
    private static final String VISITOR_B = "198.51.100.2";

    @TempDir
    Path dataDir;

    private Testbed testbed;
    private EchoServer echo;
    private String tunnelId;
    private String token;

    /** A server with at most 3 connections per listener and 2 per address, unless {@code settings} say otherwise. */
    private void start(Map<Setting, String> settings) {
        Map<Setting, String> all = new EnumMap<>(Setting.class);
        all.put(Setting.MAX_CONNECTIONS, "3");
        all.put(Setting.MAX_CONNECTIONS_PER_ADDRESS, "2");
        all.putAll(settings);
        testbed = new Testbed(dataDir, all);
        echo = new EchoServer();
        JsonNode tunnel = testbed.createTunnel("limits");
        tunnelId = tunnel.get("id").asText();
        token = tunnel.get("token").asText();
        testbed.startClient(token);
        await().atMost(Duration.ofSeconds(20)).until(() -> testbed.isConnected(tunnelId));
    }

    /** Behind a front proxy on 127.0.0.1 that sends the PROXY protocol, with room for 5 connections per listener. */
    private void startBehindProxyProtocol() {
        start(Map.of(Setting.TRUSTED_PROXIES, "127.0.0.1", Setting.PROXY_PROTOCOL, "true",
                Setting.MAX_CONNECTIONS, "5"));
    }

    @AfterEach
    void stop() {
        if (testbed != null) {
            testbed.close();
        }
        if (echo != null) {
            echo.close();
        }
    }

    @Test
    void tcpConnectionsOverTheLimitsAreClosedBeforeAnyStreamOpensAndLoggedOnce() throws Exception {
        start(Map.of());
        int port = testbed.createTcpServiceOnFreePort(tunnelId, echo.address()).port();
        YamuxSession session = testbed.server().registry().connections(tunnelId).getFirst().session();
        int streamsBefore = session.activeStreams();
        List<Socket> open = new ArrayList<>();
        try (LogCapture log = new LogCapture(ConnectionLimits.class, Level.INFO)) {
            open.add(echoed(connect("127.0.0.1", port), "one"));
            open.add(echoed(connect("127.0.0.1", port), "two"));
            try (Socket third = connect("127.0.0.1", port)) {
                assertThat(refused(third)).as("a third connection from one address").isTrue();
            }
            open.add(echoed(connect("127.0.0.2", port), "other visitor"));
            try (Socket fourth = connect("127.0.0.3", port)) {
                assertThat(refused(fourth)).as("a fourth connection to the service").isTrue();
            }

            assertThat(echo.acceptedConnections()).as("the target was dialled for the admitted ones only").isEqualTo(3);
            assertThat(session.activeStreams()).as("streams of the tunnel").isEqualTo(streamsBefore + 3);
            assertThat(log.messages(Level.WARN)).as("one line for both refusals").hasSize(1);
            assertThat(log.messages(Level.WARN).get(0))
                    .contains("tcp service", "127.0.0.1", "--max-connections-per-address");
            echoed(open.get(0), "still served");
        } finally {
            for (Socket socket : open) {
                socket.close();
            }
        }
        await().atMost(Duration.ofSeconds(10)).ignoreExceptions().untilAsserted(() -> {
            try (Socket socket = connect("127.0.0.3", port)) {
                echoed(socket, "room again");
            }
        });
    }

    @Test
    void tunnelEndpointRefusesConnectionsOverTheLimitsWith429Or503() throws Exception {
        start(Map.of());
        testbed.startClient(token);
        await().atMost(Duration.ofSeconds(20))
                .until(() -> testbed.server().registry().connections(tunnelId).size() == 2);
        try (LogCapture log = new LogCapture(ConnectionLimits.class, Level.INFO)) {
            String third = answerToUpgrade(connect("127.0.0.1", testbed.tunnelPort()));
            assertThat(third).as("a third client connection from one address")
                    .startsWith("HTTP/1.1 429 ").contains("too_many_connections").contains("Retry-After: 10\r\n");
            try (Socket other = connect("127.0.0.2", testbed.tunnelPort())) {
                assertThat(answerToUpgradeHead(other)).as("another address").startsWith("HTTP/1.1 101 ");
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> testbed.server().registry().connections(tunnelId).size() == 3);
                String fourth = answerToUpgrade(connect("127.0.0.3", testbed.tunnelPort()));
                assertThat(fourth).as("a fourth connection to the endpoint").startsWith("HTTP/1.1 503 ")
                        .contains("overloaded").contains("Retry-After: 10\r\n");
            }
            assertThat(log.messages(Level.WARN)).as("one line for both refusals").hasSize(1);
            assertThat(log.messages(Level.WARN).get(0))
                    .contains("tunnel endpoint", "127.0.0.1", "--max-connections-per-address");
        }
        assertThat(testbed.server().registry().connections(tunnelId)).as("the clients stay connected")
                .hasSizeGreaterThanOrEqualTo(2);
    }

    @Test
    void tunnelEndpointServingWsAndWssByTheFirstBytesStillAnswersPlainClientsOverTheLimitWith429() throws Exception {
        // A domain without a certificate yet: the endpoint takes TLS or plain ws by each connection's first bytes.
        start(Map.of(Setting.DOMAIN, "tunnel.test"));
        testbed.startClient(token);
        await().atMost(Duration.ofSeconds(20))
                .until(() -> testbed.server().registry().connections(tunnelId).size() == 2);
        String third = answerToUpgrade(connect("127.0.0.1", testbed.tunnelPort()));
        assertThat(third).as("a third client connection from one address")
                .startsWith("HTTP/1.1 429 ").contains("too_many_connections").contains("Retry-After: 10\r\n");
    }

    /** Behind a trusted front proxy on 127.0.0.2 without the PROXY protocol, with room for {@code max} per listener. */
    private void startBehindTrustedProxy(int max) {
        start(Map.of(Setting.TRUSTED_PROXIES, "127.0.0.2/32", Setting.MAX_CONNECTIONS, Integer.toString(max)));
    }

    @Test
    void tcpConnectionsFromATrustedProxyCountInTheListenersTotalOnly() throws Exception {
        startBehindTrustedProxy(8);
        int port = testbed.createTcpServiceOnFreePort(tunnelId, echo.address()).port();
        List<Socket> open = new ArrayList<>();
        try {
            for (int i = 0; i < 5; i++) {
                open.add(echoed(connect("127.0.0.2", port), "through the front proxy " + i));
            }
            open.add(echoed(connect("127.0.0.3", port), "one"));
            open.add(echoed(connect("127.0.0.3", port), "two"));
            long opened = streamsOpened();
            try (Socket third = connect("127.0.0.3", port)) {
                assertThat(refused(third)).as("a third connection from an untrusted address").isTrue();
            }
            assertThat(streamsOpened()).as("refused before a stream to the tunnel's client opened").isEqualTo(opened);
            open.add(echoed(connect("127.0.0.2", port), "the listener's eighth"));
            try (Socket ninth = connect("127.0.0.2", port)) {
                assertThat(refused(ninth)).as("over the listener's total, from the trusted proxy too").isTrue();
            }
            assertThat(streamsOpened()).as("streams for the eighth only").isEqualTo(opened + 1);
            assertThat(echo.acceptedConnections()).as("the target was dialled for the admitted ones only").isEqualTo(8);
        } finally {
            for (Socket socket : open) {
                socket.close();
            }
        }
    }

    @Test
    void tunnelEndpointCountsClientsBehindATrustedProxyInItsTotalOnly() throws Exception {
        // The testbed's own client holds one of the 9, from 127.0.0.1.
        startBehindTrustedProxy(9);
        List<Socket> open = new ArrayList<>();
        try {
            for (int i = 0; i < 5; i++) {
                open.add(upgraded(connect("127.0.0.2", testbed.tunnelPort())));
            }
            open.add(upgraded(connect("127.0.0.3", testbed.tunnelPort())));
            open.add(upgraded(connect("127.0.0.3", testbed.tunnelPort())));
            assertThat(answerToUpgrade(connect("127.0.0.3", testbed.tunnelPort())))
                    .as("a third client connection from an untrusted address").startsWith("HTTP/1.1 429 ")
                    .contains("too_many_connections");
            open.add(upgraded(connect("127.0.0.2", testbed.tunnelPort())));
            assertThat(answerToUpgrade(connect("127.0.0.2", testbed.tunnelPort())))
                    .as("over the endpoint's total, from the trusted proxy too").startsWith("HTTP/1.1 503 ")
                    .contains("overloaded");
        } finally {
            for (Socket socket : open) {
                socket.close();
            }
        }
    }

    @Test
    void behindProxyProtocolTcpConnectionsCountForTheVisitorTheHeaderNamesAndAreReleasedOnce() throws Exception {
        startBehindProxyProtocol();
        int port = testbed.createTcpServiceOnFreePort(tunnelId, echo.address()).port();
        List<Socket> open = new ArrayList<>();
        try (LogCapture log = new LogCapture(ConnectionLimits.class, Level.INFO)) {
            Socket firstOfA = proxied(port, VISITOR_A);
            open.add(echoed(firstOfA, "a1"));
            open.add(echoed(proxied(port, VISITOR_A), "a2"));
            open.add(echoed(proxied(port, VISITOR_B), "b1 from the same front proxy"));
            long opened = streamsOpened();
            try (Socket third = proxied(port, VISITOR_A)) {
                assertThat(refused(third)).as("a third connection of one visitor").isTrue();
            }
            assertThat(streamsOpened()).as("refused before a stream to the tunnel's client opened").isEqualTo(opened);
            assertThat(echo.acceptedConnections()).as("the refused one never reached the target").isEqualTo(3);
            assertThat(log.messages(Level.WARN)).hasSize(1);
            assertThat(log.messages(Level.WARN).get(0)).contains(VISITOR_A, "--max-connections-per-address");

            firstOfA.close();
            Socket back = await().atMost(Duration.ofSeconds(10))
                    .until(() -> admittedEcho(port, VISITOR_A), s -> s != null);
            open.add(back);
            long openedBefore = streamsOpened();
            try (Socket over = proxied(port, VISITOR_A)) {
                assertThat(refused(over)).as("its two places are taken again: the refusal gave back nothing more")
                        .isTrue();
            }
            assertThat(streamsOpened()).as("refused before a stream to the tunnel's client opened")
                    .isEqualTo(openedBefore);
        } finally {
            for (Socket socket : open) {
                socket.close();
            }
        }
    }

    @Test
    void behindProxyProtocolAConnectionWithoutItsHeaderYetHoldsAPlaceInTheListenersTotalUntilItCloses()
            throws Exception {
        startBehindProxyProtocol();
        int port = testbed.createTcpServiceOnFreePort(tunnelId, echo.address()).port();
        List<Socket> open = new ArrayList<>();
        try {
            open.add(echoed(proxied(port, "198.51.100.1"), "one"));
            open.add(echoed(proxied(port, "198.51.100.2"), "two"));
            open.add(echoed(proxied(port, "198.51.100.3"), "three"));
            Socket silent = connect("127.0.0.1", port);
            open.add(silent);
            Socket garbled = connect("127.0.0.1", port);
            open.add(garbled);
            long opened = streamsOpened();
            try (Socket sixth = proxied(port, "198.51.100.4")) {
                assertThat(refused(sixth)).as("over the listener's total, before its header is read").isTrue();
            }
            assertThat(streamsOpened()).as("refused before a stream to the tunnel's client opened").isEqualTo(opened);

            garbled.getOutputStream().write("not a PROXY header\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(closedByServer(garbled)).as("a bad header closes the connection").isTrue();
            Socket inItsPlace = await().atMost(Duration.ofSeconds(10))
                    .until(() -> admittedEcho(port, "198.51.100.4"), s -> s != null);
            open.add(inItsPlace);

            silent.close();
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> admittedEcho(port, "198.51.100.5"), s -> s != null).close();
        } finally {
            for (Socket socket : open) {
                socket.close();
            }
        }
    }

    /**
     * A front proxy that connects and then stalls (or a visitor who reached the port directly) holds no place for ever.
     */
    @Test
    void behindProxyProtocolAConnectionThatNeverFinishesItsHeaderIsClosedAfterTheHeaderTimeout() throws Exception {
        startBehindProxyProtocol();
        int port = testbed.createTcpServiceOnFreePort(tunnelId, echo.address()).port();
        try (Socket stalled = connect("127.0.0.1", port)) {
            stalled.getOutputStream().write("PROXY TCP4 198.51.100.9 ".getBytes(StandardCharsets.US_ASCII));
            stalled.setSoTimeout((int) Duration.ofSeconds(20).toMillis()); // twice the header timeout of 10 s

            assertThat(closedByServer(stalled)).as("closed by the header timeout").isTrue();
        }
        assertThat(echo.acceptedConnections()).as("it never reached the target").isZero();
    }

    @Test
    void behindProxyProtocolIpv6VisitorsOfOneSlash64ShareTheirLimit() throws Exception {
        startBehindProxyProtocol();
        int port = testbed.createTcpServiceOnFreePort(tunnelId, echo.address()).port();
        List<Socket> open = new ArrayList<>();
        try {
            open.add(echoed(proxied(port, "2001:db8:1:2::1"), "one"));
            open.add(echoed(proxied(port, "2001:db8:1:2:ffff:ffff:ffff:ffff"), "two"));
            long opened = streamsOpened();
            try (Socket third = proxied(port, "2001:db8:1:2::3")) {
                assertThat(refused(third)).as("a third connection from the same /64").isTrue();
            }
            assertThat(streamsOpened()).as("refused before a stream to the tunnel's client opened").isEqualTo(opened);
            open.add(echoed(proxied(port, "2001:db8:1:3::1"), "the next /64"));
        } finally {
            for (Socket socket : open) {
                socket.close();
            }
        }
    }

    /**
     * Streams opened so far to the tunnel's client. Unchanged by a connection that {@link #refused} shows closed: the
     * limits refused it, not a failed dial of the target, which closes an admitted one as unanswered after its stream.
     */
    private long streamsOpened() {
        return testbed.server().registry().connections(tunnelId).getFirst().streamsOpened();
    }

    /**
     * A connection from the front proxy (127.0.0.1) that has sent a PROXY protocol v1 header naming {@code visitor}.
     */
    private static Socket proxied(int port, String visitor) throws IOException {
        Socket socket = connect("127.0.0.1", port);
        String family = visitor.contains(":") ? "TCP6 " : "TCP4 ";
        String local = visitor.contains(":") ? "::1" : "127.0.0.1";
        try {
            socket.getOutputStream().write(("PROXY " + family + visitor + " " + local + " 40000 " + port + "\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            return socket;
        } catch (IOException e) {
            socket.close();
            throw e;
        }
    }

    /** A proxied connection of {@code visitor} that was admitted (it echoes), or null (closed) when it was refused. */
    private static Socket admittedEcho(int port, String visitor) throws IOException {
        Socket socket = proxied(port, visitor);
        try {
            socket.getOutputStream().write("in".getBytes(StandardCharsets.US_ASCII));
            if (socket.getInputStream().readNBytes(2).length == 2) {
                return socket;
            }
        } catch (IOException refused) {
            // reset: refused
        }
        socket.close();
        return null;
    }

    private static Socket connect(String localAddress, int port) throws IOException {
        return VisitorSockets.connectFrom(localAddress, port, Duration.ofSeconds(10));
    }

    /**
     * Sends {@code text} and reads it back from the echo target; returns the socket. Closes it when that fails: a
     * test's {@code open.add(echoed(connect(...)))} has not listed it yet.
     */
    private static Socket echoed(Socket socket, String text) throws IOException {
        try {
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            socket.getOutputStream().write(bytes);
            socket.getOutputStream().flush();
            assertThat(new String(socket.getInputStream().readNBytes(bytes.length), StandardCharsets.UTF_8))
                    .isEqualTo(text);
            return socket;
        } catch (IOException | RuntimeException | Error e) {
            socket.close();
            throw e;
        }
    }

    /**
     * True when the server closes {@code socket} (EOF or reset) without echoing a "ping" sent on it: refused before
     * any stream opened. An admitted connection echoes it.
     */
    private static boolean refused(Socket socket) throws IOException {
        return VisitorSockets.closedUnanswered(socket, "ping".getBytes(StandardCharsets.US_ASCII));
    }

    /** True when the server closes (EOF or reset) without sending anything; false on data or a read timeout. */
    private static boolean closedByServer(Socket socket) throws IOException {
        try {
            return socket.getInputStream().read() == -1;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    private String upgradeRequest() {
        return "GET /tunnel?token=" + token + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n"
                + "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                + "Sec-WebSocket-Protocol: tunnel\r\n\r\n";
    }

    /** Asks {@code socket} for an upgrade and reads the answer up to the server's close. */
    private String answerToUpgrade(Socket socket) throws IOException {
        try (socket) {
            socket.getOutputStream().write(upgradeRequest().getBytes(StandardCharsets.ISO_8859_1));
            socket.getOutputStream().flush();
            InputStream in = socket.getInputStream();
            ByteArrayOutputStream answer = new ByteArrayOutputStream();
            byte[] buffer = new byte[4096];
            int n;
            while (answer.size() < 64 * 1024 && (n = in.read(buffer)) >= 0) {
                answer.write(buffer, 0, n);
            }
            return answer.toString(StandardCharsets.ISO_8859_1);
        }
    }

    /** {@code socket}, upgraded: the tunnel endpoint took it. Closed when it was not, as by {@link #echoed}. */
    private Socket upgraded(Socket socket) throws IOException {
        try {
            assertThat(answerToUpgradeHead(socket)).startsWith("HTTP/1.1 101 ");
            return socket;
        } catch (IOException | RuntimeException | Error e) {
            socket.close();
            throw e;
        }
    }

    /** Asks {@code socket} for an upgrade and reads the answer's head; the socket stays open. */
    private String answerToUpgradeHead(Socket socket) throws IOException {
        socket.getOutputStream().write(upgradeRequest().getBytes(StandardCharsets.ISO_8859_1));
        socket.getOutputStream().flush();
        return HttpHead.read(socket.getInputStream());
    }
}
