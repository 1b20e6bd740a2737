package io.picotunnel.server.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.tunnel.TunnelClient;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.server.tls.TestCertificates;
import io.picotunnel.testkit.EchoServer;

import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * What the tests of a client behind a proxy share: a real server with a tunnel whose tcp service echoes, and a client
 * of that tunnel started with a proxy setting and an environment. The proxy is the test's own.
 */
final class ProxiedClientBed {

    final Testbed testbed;
    private final EchoServer echo;
    private final String token;
    private final String tunnelId;
    private final int servicePort;
    private TunnelClient client;

    ProxiedClientBed(Path dataDir, Map<Setting, String> settings, String tunnelName) {
        testbed = new Testbed(dataDir, settings);
        echo = new EchoServer();
        JsonNode tunnel = testbed.createTunnel(tunnelName);
        token = tunnel.get("token").asText();
        tunnelId = tunnel.get("id").asText();
        servicePort = testbed.createTcpServiceOnFreePort(tunnelId, echo.address()).port();
    }

    /**
     * A bed whose server is {@code tunnel.test} over TLS, with a certificate for that name from {@code ca}; the test CA
     * is no system CA, so its clients need {@code PICOTUNNEL_INSECURE}.
     */
    static ProxiedClientBed overTls(Path dataDir, TestCertificates ca, String tunnelName) {
        TestCertificates.write(ca.issue("tunnel.test"), dataDir.resolve("operator"), "tunnel");
        return new ProxiedClientBed(dataDir, Map.of(Setting.DOMAIN, "tunnel.test",
                Setting.TLS_CERT, dataDir.resolve("operator/tunnel.crt").toString(),
                Setting.TLS_KEY, dataDir.resolve("operator/tunnel.key").toString()), tunnelName);
    }

    /** Starts a client of the tunnel with {@code --proxy proxyFlag} (none when null) and {@code env}. */
    TunnelClient startClient(String proxyFlag, Map<String, String> env) {
        Map<String, String> all = new HashMap<>(env);
        all.put("PICOTUNNEL_TOKEN", token);
        Map<io.picotunnel.client.config.Setting, String> flags = proxyFlag == null ? Map.of()
                : Map.of(io.picotunnel.client.config.Setting.PROXY, proxyFlag);
        client = new TunnelClient(ClientConfig.resolve(flags, all).withShutdownGrace(Duration.ZERO));
        client.start();
        return client;
    }

    TunnelClient client() {
        return client;
    }

    /** The client last started says it is connected within 15 s. */
    void assertConnected() throws InterruptedException {
        assertThat(client.awaitConnected(Duration.ofSeconds(15))).as("state %s", client.state()).isTrue();
    }

    /** Stops the client last started, if any. */
    void stopClient() {
        if (client != null) {
            client.stop(Duration.ZERO).orTimeout(20, TimeUnit.SECONDS).join();
        }
    }

    /** A tcp visitor's {@code message} comes back through the client from the echo target. */
    void assertDataFlows(String message) throws Exception {
        // The client says connected on the 101; the server registers the session a moment later, and a visitor
        // before that finds no client.
        await().atMost(15, TimeUnit.SECONDS).until(() -> testbed.isConnected(tunnelId));
        byte[] bytes = message.getBytes(StandardCharsets.UTF_8);
        try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), servicePort)) {
            visitor.setSoTimeout(10_000);
            visitor.getOutputStream().write(bytes);
            assertThat(new String(visitor.getInputStream().readNBytes(bytes.length), StandardCharsets.UTF_8))
                    .isEqualTo(message);
        }
    }

    /** Stops the client, closes {@code proxy} (if not null), then the server and the echo target. */
    void close(AutoCloseable proxy) throws Exception {
        stopClient();
        if (proxy != null) {
            proxy.close();
        }
        testbed.close();
        echo.close();
    }
}
