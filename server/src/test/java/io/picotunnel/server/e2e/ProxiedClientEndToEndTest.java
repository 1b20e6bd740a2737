package io.picotunnel.server.e2e;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.tunnel.TunnelClient;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.server.tls.TestCertificates;
import io.picotunnel.testkit.ConnectProxy;
import io.picotunnel.testkit.EchoServer;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A client behind an HTTP proxy (CONNECT), as in a corporate network: a real server, a small proxy on 127.0.0.1
 * that dials only 127.0.0.1 whatever host it is asked for, and the server named {@code tunnel.test}, a name only
 * the proxy can "resolve".
 */
class ProxiedClientEndToEndTest {

    @TempDir
    Path dataDir;

    private Testbed testbed;
    private EchoServer echo;
    private ConnectProxy proxy;
    private TunnelClient client;
    private String token;
    private String tunnelId;
    private int servicePort;

    @AfterEach
    void stop() {
        if (client != null) {
            client.stop(Duration.ZERO).orTimeout(20, TimeUnit.SECONDS).join();
        }
        if (proxy != null) {
            proxy.close();
        }
        testbed.close();
        echo.close();
    }

    private void startServer(Map<Setting, String> settings) {
        testbed = new Testbed(dataDir, settings);
        echo = new EchoServer();
        JsonNode tunnel = testbed.createTunnel("proxied");
        token = tunnel.get("token").asText();
        tunnelId = tunnel.get("id").asText();
        servicePort = testbed.createTcpServiceOnFreePort(tunnel.get("id").asText(), echo.address()).port();
    }

    private TunnelClient startClient(Map<io.picotunnel.client.config.Setting, String> flags,
                                     Map<String, String> env) {
        Map<String, String> all = new HashMap<>(env);
        all.put("PICOTUNNEL_TOKEN", token);
        client = new TunnelClient(ClientConfig.resolve(flags, all).withShutdownGrace(Duration.ZERO));
        client.start();
        return client;
    }

    private static Map<io.picotunnel.client.config.Setting, String> flags(String proxy) {
        return proxy == null ? Map.of() : Map.of(io.picotunnel.client.config.Setting.PROXY, proxy);
    }

    private void assertDataFlows() throws Exception {
        // The client says connected on the 101; the server registers the session a moment later, and a visitor
        // before that finds no client.
        await().atMost(15, TimeUnit.SECONDS).until(() -> testbed.isConnected(tunnelId));
        try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), servicePort)) {
            visitor.setSoTimeout(10_000);
            visitor.getOutputStream().write("through the proxy".getBytes(StandardCharsets.UTF_8));
            assertThat(new String(visitor.getInputStream().readNBytes(17), StandardCharsets.UTF_8))
                    .isEqualTo("through the proxy");
        }
    }

    @Test
    void wsClientConnectsThroughHttpProxyFromTheEnvironmentWithBasicAuth() throws Exception {
        startServer(Map.of());
        proxy = new ConnectProxy("alice", "p@ss:word");

        startClient(flags(null), Map.of(
                "PICOTUNNEL_SERVER", "ws://tunnel.test:" + testbed.tunnelPort(),
                "HTTP_PROXY", "http://alice:p%40ss%3Aword@127.0.0.1:" + proxy.port()));

        assertThat(client.awaitConnected(Duration.ofSeconds(15))).as("state %s", client.state()).isTrue();
        assertDataFlows();
        String request = proxy.requests().getFirst();
        assertThat(request).startsWith("CONNECT tunnel.test:" + testbed.tunnelPort() + " HTTP/1.1\r\n");
        assertThat(request).containsIgnoringCase("proxy-authorization: Basic "
                + Base64.getEncoder().encodeToString("alice:p@ss:word".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void wssClientConnectsThroughTheProxySettingWhichWinsOverHttpsProxy() throws Exception {
        TestCertificates ca = new TestCertificates();
        TestCertificates.write(ca.issue("tunnel.test"), dataDir.resolve("operator"), "tunnel");
        startServer(Map.of(Setting.DOMAIN, "tunnel.test",
                Setting.TLS_CERT, dataDir.resolve("operator/tunnel.crt").toString(),
                Setting.TLS_KEY, dataDir.resolve("operator/tunnel.key").toString()));
        proxy = new ConnectProxy(null, null);

        try (ConnectProxy ignored = ConnectProxy.refusing(403)) {
            startClient(flags(null), Map.of(
                    "PICOTUNNEL_SERVER", "wss://tunnel.test:" + testbed.tunnelPort(),
                    "PICOTUNNEL_INSECURE", "true",
                    "PICOTUNNEL_PROXY", proxy.url(),
                    "HTTPS_PROXY", ignored.url()));

            assertThat(client.awaitConnected(Duration.ofSeconds(15))).as("state %s", client.state()).isTrue();
            assertDataFlows();
            assertThat(proxy.requests().getFirst()).startsWith("CONNECT tunnel.test:" + testbed.tunnelPort() + " ");
            assertThat(ignored.requests()).isEmpty();
        }
    }

    @Test
    void wrongProxyPasswordIsSaidPlainlyAndRetriedWithBackoff() throws Exception {
        startServer(Map.of());
        proxy = new ConnectProxy("alice", "right");
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            startClient(flags("http://alice:wrong@127.0.0.1:" + proxy.port()), Map.of(
                    "PICOTUNNEL_SERVER", "ws://tunnel.test:" + testbed.tunnelPort()));

            await().atMost(10, TimeUnit.SECONDS).until(() -> !log.messages(Level.WARN).isEmpty());
            assertThat(log.messages(Level.WARN).getFirst())
                    .contains("Proxy authentication failed")
                    .contains("answered HTTP 407")
                    .contains("Check the user and password in the proxy URL")
                    .contains("Retrying in")
                    .doesNotContain("wrong");
            assertThat(client.state()).isEqualTo(TunnelClient.State.WAITING_TO_RECONNECT);
        }
    }

    @Test
    void proxyThatForbidsTheServerOrCannotReachItIsSaidPlainly() throws Exception {
        startServer(Map.of());
        try (ConnectProxy forbidding = ConnectProxy.refusing(403);
             LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            startClient(flags(forbidding.url()), Map.of(
                    "PICOTUNNEL_SERVER", "ws://tunnel.test:" + testbed.tunnelPort()));

            await().atMost(10, TimeUnit.SECONDS).until(() -> !log.messages(Level.WARN).isEmpty());
            assertThat(log.messages(Level.WARN).getFirst()).contains("answered HTTP 403")
                    .contains("ask the proxy's administrators to allow tunnel.test:" + testbed.tunnelPort());
            assertThat(client.state()).isEqualTo(TunnelClient.State.WAITING_TO_RECONNECT);
        }
        client.stop(Duration.ZERO).orTimeout(20, TimeUnit.SECONDS).join();

        proxy = new ConnectProxy(null, null);
        int closedPort = Ports.freePort();
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            startClient(flags(proxy.url()), Map.of("PICOTUNNEL_SERVER", "ws://tunnel.test:" + closedPort));

            await().atMost(10, TimeUnit.SECONDS).until(() -> !log.messages(Level.WARN).isEmpty());
            assertThat(log.messages(Level.WARN).getFirst()).contains("The proxy could not reach the server")
                    .contains("answered HTTP 502");
            assertThat(client.state()).isEqualTo(TunnelClient.State.WAITING_TO_RECONNECT);
        }
    }

    @Test
    void proxyThatIsNotThereIsSaidPlainlyAndRetried() throws Exception {
        startServer(Map.of());
        int nothingThere = Ports.freePort();
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            startClient(flags(null), Map.of("PICOTUNNEL_SERVER", "wss://tunnel.test:" + testbed.tunnelPort(),
                    "HTTPS_PROXY", "http://u:secret@127.0.0.1:" + nothingThere));

            await().atMost(10, TimeUnit.SECONDS).until(() -> !log.messages(Level.WARN).isEmpty());
            assertThat(log.messages(Level.WARN).getFirst())
                    .contains("Nothing accepts connections on the proxy 127.0.0.1:" + nothingThere + " (HTTPS_PROXY)")
                    .doesNotContain("secret");
            assertThat(client.state()).isEqualTo(TunnelClient.State.WAITING_TO_RECONNECT);
        }
    }
}
