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
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
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
            assertThatThrownBy(() -> handshake("127.0.0.1")).as("a third connection from one address")
                    .isInstanceOf(IOException.class);
            open.add(handshake("127.0.0.2"));
            assertThatThrownBy(() -> handshake("127.0.0.3")).as("a fourth connection to the listener")
                    .isInstanceOf(IOException.class);
            assertThatThrownBy(() -> handshake("127.0.0.1")).isInstanceOf(IOException.class);

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
        await().atMost(Duration.ofSeconds(10)).ignoreExceptions().untilAsserted(() -> handshake("127.0.0.3").close());
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
            assertThatThrownBy(() -> handshake("127.0.0.3")).as("a third connection from an untrusted address")
                    .isInstanceOf(IOException.class);
            open.add(handshake("127.0.0.2"));
            assertThatThrownBy(() -> handshake("127.0.0.2")).as("over the listener's total, from the trusted proxy too")
                    .isInstanceOf(IOException.class);
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
            assertThatThrownBy(() -> proxiedHandshake("198.51.100.1")).as("a third connection of one visitor")
                    .isInstanceOf(IOException.class);
            for (SSLSocket socket : open) {
                assertThat(statusLine(socket)).as("admitted connections are served").startsWith("HTTP/1.1 404 ");
            }

            open.getFirst().close();
            await().atMost(Duration.ofSeconds(10)).ignoreExceptions()
                    .untilAsserted(() -> proxiedHandshake("198.51.100.1").close());
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
        return handshake("127.0.0.1", "PROXY TCP4 " + visitor + " 127.0.0.1 40000 443\r\n");
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
