package io.picotunnel.server.tls;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.ServerAddress;
import io.picotunnel.client.tunnel.TunnelClient;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.ServerConfig;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.config.Setting;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A server with a domain but no certificate for it at start (no file, no ACME): plain ws at first, and a certificate
 * file for the domain dropped into {@code <data>/certs/} later serves wss without a restart while ws keeps working.
 */
class TunnelEndpointCertificateAfterStartTest {

    private static final String ADMIN_TOKEN = "tls-later-admin-token-0123456789";

    @TempDir
    Path data;

    private final TestCertificates ca = new TestCertificates();
    private final List<TunnelClient> clients = new ArrayList<>();
    private final Logger endpointLog = (Logger) LoggerFactory.getLogger(TunnelEndpointTls.class);
    private final ListAppender<ILoggingEvent> logged = new ListAppender<>();
    private PicoTunnelServer server;
    private ApiClient api;

    @BeforeEach
    void start() {
        logged.start();
        endpointLog.addAppender(logged);
        Map<Setting, String> settings = new EnumMap<>(Setting.class);
        settings.put(Setting.ADMIN_TOKEN, ADMIN_TOKEN);
        settings.put(Setting.DOMAIN, "tunnel.test");
        server = PicoTunnelServer.start(ServerConfig.ephemeral(data.resolve("server"), settings),
                new PrintStream(OutputStream.nullOutputStream()));
        api = new ApiClient(server.apiPort(), ADMIN_TOKEN);
    }

    @AfterEach
    void stop() {
        endpointLog.detachAppender(logged);
        clients.forEach(TunnelClient::close);
        api.close();
        server.stop();
    }

    @Test
    void aCertificateFileForTheDomainServesWssWithoutARestartAndWsKeepsWorking() throws Exception {
        String token = api.post("/api/tunnels", "{\"name\":\"later\"}").json().get("token").asText();
        TunnelClient plainBefore = connect("ws://127.0.0.1:" + server.tunnelPort(), token);
        assertThat(plainBefore.awaitConnected(Duration.ofSeconds(20))).as("ws before the certificate").isTrue();
        assertThat(api.get("/api/server").json().get("tunnel_server").asText())
                .isEqualTo("ws://tunnel.test:" + server.tunnelPort());

        TestCertificates.Issued certificate = ca.issue("tunnel.test");
        TestCertificates.write(certificate, data.resolve("server/certs"), "tunnel.test");

        // verified against the test CA for the domain's name: the dropped certificate is what the endpoint serves
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() ->
                certificate.serial().equals(servedSerial(server.tunnelPort(), "tunnel.test")));
        TunnelClient secure = connect("wss://127.0.0.1:" + server.tunnelPort(), token);
        assertThat(secure.awaitConnected(Duration.ofSeconds(20))).as("wss after the certificate").isTrue();
        assertThat(api.get("/api/server").json().get("tunnel_server").asText())
                .as("ready-made commands use wss (a bare host:port)").isEqualTo("tunnel.test:" + server.tunnelPort());
        await().atMost(Duration.ofSeconds(30)).until(() -> infoCount(logged) > 0);
        // the certificate directory is read again every 5 s: the line must not come back with the next reads
        await().during(Duration.ofSeconds(12)).atMost(Duration.ofSeconds(20)).until(() -> infoCount(logged) == 1);
        // the handshakes above that came before the directory was read again met no certificate: with plain ws
        // served, as the operator chose, no warning but the start's
        List<ILoggingEvent> lines = events(logged).stream()
                .filter(event -> event.getLevel().isGreaterOrEqual(Level.INFO)).toList();
        assertThat(lines).as("the start's WARN, then the INFO only").hasSize(2);
        assertThat(lines.getFirst().getLevel()).isEqualTo(Level.WARN);
        assertThat(lines.getFirst().getFormattedMessage()).startsWith("Tunnel endpoint on ws://127.0.0.1:"
                + server.tunnelPort() + "/tunnel WITHOUT TLS for now: tunnel.test has no certificate yet. Put one in "
                + data.resolve("server/certs"));
        assertThat(lines.getLast().getLevel()).isEqualTo(Level.INFO);
        assertThat(lines.getLast().getFormattedMessage()).contains("now serves wss", "tunnel.test",
                "until the next restart");

        secure.close();
        TunnelClient plainAfter = connect("ws://127.0.0.1:" + server.tunnelPort(), token);
        assertThat(plainAfter.awaitConnected(Duration.ofSeconds(20))).as("ws until the next restart").isTrue();
    }

    private TunnelClient connect(String address, String token) {
        TunnelClient client = new TunnelClient(ClientConfig.of(ServerAddress.parse(address), token)
                .withInsecure(true).withShutdownGrace(Duration.ZERO));
        clients.add(client);
        client.start();
        return client;
    }

    /** A handshake with SNI {@code name} on {@code port}, verified against the test CA; the served leaf's serial. */
    private BigInteger servedSerial(int port, String name) throws IOException {
        try (SSLSocket socket = (SSLSocket) ca.clientContext().getSocketFactory()
                .createSocket(InetAddress.getLoopbackAddress(), port)) {
            socket.setSoTimeout(10_000);
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setServerNames(List.of(new SNIHostName(name)));
            parameters.setEndpointIdentificationAlgorithm("HTTPS");
            socket.setSSLParameters(parameters);
            socket.startHandshake();
            return ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSerialNumber();
        }
    }

    private static long infoCount(ListAppender<ILoggingEvent> logged) {
        return events(logged).stream().filter(event -> event.getLevel() == Level.INFO).count();
    }

    private static List<ILoggingEvent> events(ListAppender<ILoggingEvent> logged) {
        synchronized (logged) {
            return List.copyOf(logged.list);
        }
    }
}
