package io.picotunnel.server.tls;

import ch.qos.logback.classic.Level;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.ServerConfig;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.net.ConnectionLimits;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.VisitorSockets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The HTTPS listener as the server facade wires it enforces {@code --max-connections} and
 * {@code --max-connections-per-address}: a connection over either is closed at once, before its TLS handshake.
 * Other loopback addresses (127.0.0.2, 127.0.0.3) stand for other visitors; behind the PROXY protocol, the addresses
 * the headers name.
 */
class HttpsConnectionLimitsTest {

    @TempDir
    Path data;

    private final TestCertificates ca = new TestCertificates();
    private PicoTunnelServer server;

    /** A server with at most 3 connections and 2 per address, unless {@code extra} says otherwise. */
    private void start(Map<Setting, String> extra) {
        TestCertificates.write(ca.issue("app.test"), data.resolve("certs"), "app.test");
        Map<Setting, String> settings = new EnumMap<>(Setting.class);
        settings.put(Setting.ADMIN_TOKEN, "tls-limits-admin-token-0123456789");
        settings.put(Setting.MAX_CONNECTIONS, "3");
        settings.put(Setting.MAX_CONNECTIONS_PER_ADDRESS, "2");
        settings.putAll(extra);
        server = PicoTunnelServer.start(ServerConfig.ephemeral(data, settings),
                new PrintStream(OutputStream.nullOutputStream()));
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop();
        }
    }

    @Test
    void connectionsOverTheLimitsAreClosedBeforeTheHandshakeAndTheRefusalsAreLoggedOnce() throws Exception {
        start(Map.of());
        List<SSLSocket> open = new ArrayList<>();
        try (LogCapture log = new LogCapture(ConnectionLimits.class, Level.INFO)) {
            open.add(handshake("127.0.0.1"));
            open.add(handshake("127.0.0.1"));
            assertThat(refusedBeforeTheHandshake("127.0.0.1")).as("a third connection from one address").isTrue();
            open.add(handshake("127.0.0.2"));
            assertThat(refusedBeforeTheHandshake("127.0.0.3")).as("a fourth connection to the listener").isTrue();
            assertThat(refusedBeforeTheHandshake("127.0.0.1")).as("a third from one address again").isTrue();

            assertThat(log.messages(Level.WARN)).as("one line for the three refusals").hasSize(1);
            assertThat(log.messages(Level.WARN).get(0))
                    .contains("HTTPS listener", "127.0.0.1", "--max-connections-per-address");
            for (SSLSocket socket : open) {
                assertThat(statusLine(socket)).as("admitted connections are served").startsWith("HTTP/1.1 404 ");
            }
        } finally {
            for (SSLSocket socket : open) {
                socket.close();
            }
        }
        // Each closed connection frees its place once the server sees the close.
        await().atMost(Duration.ofSeconds(10)).ignoreExceptions().untilAsserted(() -> {
            try (SSLSocket socket = handshake("127.0.0.3")) {
                assertThat(statusLine(socket)).as("room again once connections closed").startsWith("HTTP/1.1 404 ");
            }
        });
    }

    /**
     * A visitor reset in the middle of its TLS handshake (after the server's ServerHello) is closed quietly: its place
     * is freed, and nothing is logged as a warning or an error (an exception at the end of the pipeline would be).
     */
    @Test
    void visitorsResetInTheMiddleOfTheHandshakeFreeTheirPlacesQuietly() throws Exception {
        start(Map.of());
        try (LogCapture log = new LogCapture(org.slf4j.Logger.ROOT_LOGGER_NAME, null)) {
            for (int i = 0; i < 2; i++) {
                try (Socket raw = VisitorSockets.connectFrom("127.0.0.1", server.httpsPort(), Duration.ofSeconds(10))) {
                    raw.getOutputStream().write(clientHello());
                    assertThat(raw.getInputStream().read()).as("a TLS handshake record, the ServerHello's")
                            .isEqualTo(0x16);
                    raw.setSoLinger(true, 0);
                }
            }

            await().atMost(Duration.ofSeconds(10)).ignoreExceptions().untilAsserted(() -> {
                try (SSLSocket first = handshake("127.0.0.1"); SSLSocket second = handshake("127.0.0.1")) {
                    assertThat(statusLine(first)).as("room again for the address").startsWith("HTTP/1.1 404 ");
                    assertThat(statusLine(second)).startsWith("HTTP/1.1 404 ");
                }
            });
            assertThat(log.events()).filteredOn(event -> event.getLevel().isGreaterOrEqual(Level.WARN))
                    .as("warnings and errors").isEmpty();
        }
    }

    @Test
    void connectionsFromATrustedProxyCountInTheListenersTotalOnly() throws Exception {
        start(Map.of(Setting.TRUSTED_PROXIES, "127.0.0.2/32", Setting.MAX_CONNECTIONS, "8"));
        List<SSLSocket> open = new ArrayList<>();
        try {
            for (int i = 0; i < 5; i++) {
                open.add(handshake("127.0.0.2"));
            }
            open.add(handshake("127.0.0.3"));
            open.add(handshake("127.0.0.3"));
            assertThat(refusedBeforeTheHandshake("127.0.0.3")).as("a third connection from an untrusted address")
                    .isTrue();
            open.add(handshake("127.0.0.2"));
            assertThat(refusedBeforeTheHandshake("127.0.0.2"))
                    .as("over the listener's total, from the trusted proxy too").isTrue();
            for (SSLSocket socket : open) {
                assertThat(statusLine(socket)).as("admitted connections are served").startsWith("HTTP/1.1 404 ");
            }
        } finally {
            for (SSLSocket socket : open) {
                socket.close();
            }
        }
    }

    @Test
    void behindProxyProtocolConnectionsCountForTheVisitorTheHeaderNamesAndAreReleasedOnClose() throws Exception {
        start(Map.of(Setting.TRUSTED_PROXIES, "127.0.0.1", Setting.PROXY_PROTOCOL, "true", Setting.MAX_CONNECTIONS, "5"));
        List<SSLSocket> open = new ArrayList<>();
        try {
            open.add(proxiedHandshake("198.51.100.1"));
            open.add(proxiedHandshake("198.51.100.1"));
            open.add(proxiedHandshake("198.51.100.2"));
            assertThat(refusedBeforeTheHandshake("127.0.0.1", proxyHeader("198.51.100.1")))
                    .as("a third connection of one visitor").isTrue();
            for (SSLSocket socket : open) {
                assertThat(statusLine(socket)).as("admitted connections are served").startsWith("HTTP/1.1 404 ");
            }

            open.getFirst().close();
            await().atMost(Duration.ofSeconds(10)).ignoreExceptions().untilAsserted(() -> {
                try (SSLSocket socket = proxiedHandshake("198.51.100.1")) {
                    assertThat(statusLine(socket)).as("room again once one closed").startsWith("HTTP/1.1 404 ");
                }
            });
        } finally {
            for (SSLSocket socket : open) {
                socket.close();
            }
        }
    }

    /** Asks for / of app.test, which has no service: the proxy's 404. */
    private static String statusLine(SSLSocket socket) throws IOException {
        socket.getOutputStream().write("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().flush();
        return new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII)).readLine();
    }

    /** A completed TLS handshake with SNI app.test from {@code localAddress}. */
    private SSLSocket handshake(String localAddress) throws IOException {
        return handshake(localAddress, "");
    }

    /** A TLS handshake from the front proxy (127.0.0.1) after a PROXY protocol v1 header naming {@code visitor}. */
    private SSLSocket proxiedHandshake(String visitor) throws IOException {
        return handshake("127.0.0.1", proxyHeader(visitor));
    }

    private static String proxyHeader(String visitor) {
        return "PROXY TCP4 " + visitor + " 127.0.0.1 40000 443\r\n";
    }

    private boolean refusedBeforeTheHandshake(String localAddress) throws IOException {
        return refusedBeforeTheHandshake(localAddress, "");
    }

    /**
     * True when the server closes a connection from {@code localAddress} (EOF or reset) without a byte of answer to
     * its ClientHello, sent after {@code proxyHeader}: refused before the TLS handshake. A ServerHello or an alert
     * (a handshake that goes on, or fails for another reason) is false.
     */
    private boolean refusedBeforeTheHandshake(String localAddress, String proxyHeader) throws IOException {
        try (Socket raw = VisitorSockets.connectFrom(localAddress, server.httpsPort(), Duration.ofSeconds(10))) {
            ByteArrayOutputStream first = new ByteArrayOutputStream();
            first.writeBytes(proxyHeader.getBytes(StandardCharsets.US_ASCII));
            first.writeBytes(clientHello());
            return VisitorSockets.closedUnanswered(raw, first.toByteArray());
        }
    }

    /** The ClientHello a TLS client for app.test sends first, as {@link #handshake} does. */
    private byte[] clientHello() throws SSLException {
        SSLEngine engine = ca.clientContext().createSSLEngine("app.test", server.httpsPort());
        engine.setUseClientMode(true);
        SSLParameters parameters = engine.getSSLParameters();
        parameters.setServerNames(List.of(new SNIHostName("app.test")));
        engine.setSSLParameters(parameters);
        ByteBuffer hello = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        engine.wrap(ByteBuffer.allocate(0), hello);
        return Arrays.copyOf(hello.array(), hello.position());
    }

    private SSLSocket handshake(String localAddress, String proxyHeader) throws IOException {
        Socket raw = VisitorSockets.connectFrom(localAddress, server.httpsPort(), Duration.ofSeconds(10));
        try {
            raw.getOutputStream().write(proxyHeader.getBytes(StandardCharsets.US_ASCII));
            SSLSocket socket = (SSLSocket) ca.clientContext().getSocketFactory()
                    .createSocket(raw, "app.test", server.httpsPort(), true);
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setServerNames(List.of(new SNIHostName("app.test")));
            parameters.setEndpointIdentificationAlgorithm("HTTPS");
            socket.setSSLParameters(parameters);
            socket.startHandshake();
            return socket;
        } catch (IOException e) {
            raw.close();
            throw e;
        }
    }
}
