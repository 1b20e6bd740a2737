package io.picotunnel.server.tls;

import ch.qos.logback.classic.Level;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.ServerConfig;
import io.picotunnel.server.config.Setting;
import io.picotunnel.testkit.ClientHellos;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.VisitorSockets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLSocket;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Clients of the tunnel endpoint's wss that reset in the middle of their TLS handshake, or send something else than
 * a ClientHello, or one over the limit, are closed quietly: their places are freed, and nothing is logged as a warning or an error.
 * At most 2 connections per address, so two handshakes served after two such clients show their places freed.
 */
class TunnelEndpointHandshakeResetLogTest {

    @TempDir
    Path data;

    private final TestCertificates ca = new TestCertificates();
    private PicoTunnelServer server;

    @BeforeEach
    void start() {
        TestCertificates.write(ca.issue("tunnel.test"), data.resolve("certs"), "tunnel.test");
        Map<Setting, String> settings = new EnumMap<>(Setting.class);
        settings.put(Setting.ADMIN_TOKEN, "wss-reset-admin-token-0123456789");
        settings.put(Setting.DOMAIN, "tunnel.test");
        settings.put(Setting.MAX_CONNECTIONS_PER_ADDRESS, "2");
        server = PicoTunnelServer.start(ServerConfig.ephemeral(data, settings),
                new PrintStream(OutputStream.nullOutputStream()));
    }

    @AfterEach
    void stop() {
        server.stop();
    }

    @Test
    void clientsResetInTheMiddleOfTheClientHelloAreClosedQuietly() throws Exception {
        byte[] hello = ClientHellos.record("tunnel.test");
        assertQuietAfterTwo(raw -> raw.getOutputStream().write(Arrays.copyOf(hello, hello.length / 2)));
    }

    @Test
    void clientsResetAfterTheServerHelloAreClosedQuietly() throws Exception {
        assertQuietAfterTwo(raw -> {
            raw.getOutputStream().write(ClientHellos.record("tunnel.test"));
            assertThat(raw.getInputStream().read()).as("a TLS handshake record, the ServerHello's").isEqualTo(0x16);
        });
    }

    @Test
    void clientsSendingPlainHttpToTheWssPortAreClosedQuietly() throws Exception {
        assertQuietAfterTwo(raw -> {
            raw.getOutputStream().write("GET /tunnel HTTP/1.1\r\nHost: tunnel.test\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            for (int i = 0; i < 100 && raw.getInputStream().read() != -1; i++) {
                // an alert, then the close
            }
        });
    }

    /**
     * A ClientHello that declares 64 KiB, over the endpoint's limit of {@link HttpsFrontDoor#MAX_CLIENT_HELLO}: a
     * handshake record of 4 bytes whose header says ClientHello (1) of 0x010000 bytes. Anyone can send it, with no token.
     */
    @Test
    void clientsDeclaringAClientHelloOverTheLimitAreClosedQuietly() throws Exception {
        assertQuietAfterTwo(raw -> {
            raw.getOutputStream().write(new byte[] {0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x01, 0x00, 0x00});
            for (int i = 0; i < 100 && raw.getInputStream().read() != -1; i++) {
                // until the close
            }
        });
    }

    private interface Visit {
        void on(Socket raw) throws Exception;
    }

    private void assertQuietAfterTwo(Visit visit) throws Exception {
        try (LogCapture log = new LogCapture(org.slf4j.Logger.ROOT_LOGGER_NAME, null)) {
            for (int i = 0; i < 2; i++) {
                try (Socket raw = VisitorSockets.connectFrom("127.0.0.1", server.tunnelPort(), Duration.ofSeconds(10))) {
                    visit.on(raw);
                    raw.setSoLinger(true, 0);
                }
            }

            await().atMost(Duration.ofSeconds(10)).ignoreExceptions().untilAsserted(() -> {
                try (SSLSocket first = handshake(); SSLSocket second = handshake()) {
                    assertThat(first.getSession().getProtocol()).as("room again for the address").startsWith("TLS");
                    assertThat(second.getSession().getProtocol()).startsWith("TLS");
                }
            });
            assertThat(log.events()).filteredOn(event -> event.getLevel().isGreaterOrEqual(Level.WARN))
                    .as("warnings and errors").isEmpty();
        }
    }

    private SSLSocket handshake() throws Exception {
        SSLSocket socket = SniSockets.connect(ca.clientContext(), server.tunnelPort(), "tunnel.test");
        try {
            socket.startHandshake();
            return socket;
        } catch (Exception e) {
            socket.close();
            throw e;
        }
    }
}
