package io.picotunnel.server.e2e;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.tunnel.TunnelClient;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.server.tls.TestCertificates;
import io.picotunnel.testkit.EchoServer;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.Ports;
import io.picotunnel.testkit.Socks5Proxy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
 * A client behind a SOCKS5 proxy, as frp's {@code transport.proxyURL} and ngrok's {@code proxy_url} give one: a real
 * server and a small SOCKS5 proxy on 127.0.0.1 that dials only loopback. With {@code socks5://}, as with Go's clients,
 * and with {@code socks5h://}, the proxy gets the server's name (address type 3; it dials 127.0.0.1 for any), even one
 * this machine cannot resolve ({@code .invalid}), and an IP address as an address (type 1).
 */
class SocksProxiedClientEndToEndTest {

    @TempDir
    Path dataDir;

    private Testbed testbed;
    private EchoServer echo;
    private Socks5Proxy proxy;
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
        JsonNode tunnel = testbed.createTunnel("socks");
        token = tunnel.get("token").asText();
        tunnelId = tunnel.get("id").asText();
        servicePort = testbed.createTcpServiceOnFreePort(tunnelId, echo.address()).port();
    }

    private void startClient(String proxyFlag, Map<String, String> env) {
        Map<String, String> all = new HashMap<>(env);
        all.put("PICOTUNNEL_TOKEN", token);
        Map<io.picotunnel.client.config.Setting, String> flags = proxyFlag == null ? Map.of()
                : Map.of(io.picotunnel.client.config.Setting.PROXY, proxyFlag);
        client = new TunnelClient(ClientConfig.resolve(flags, all).withShutdownGrace(Duration.ZERO));
        client.start();
    }

    private void assertDataFlows() throws Exception {
        await().atMost(15, TimeUnit.SECONDS).until(() -> testbed.isConnected(tunnelId));
        try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), servicePort)) {
            visitor.setSoTimeout(10_000);
            visitor.getOutputStream().write("through socks".getBytes(StandardCharsets.UTF_8));
            assertThat(new String(visitor.getInputStream().readNBytes(13), StandardCharsets.UTF_8))
                    .isEqualTo("through socks");
        }
    }

    /** The first warning of the client once one is logged, with the client waiting to try again. */
    private String firstWarning(LogCapture log) {
        await().atMost(10, TimeUnit.SECONDS).until(() -> !log.messages(Level.WARN).isEmpty());
        assertThat(client.state()).isIn(TunnelClient.State.WAITING_TO_RECONNECT, TunnelClient.State.CONNECTING);
        return log.messages(Level.WARN).getFirst();
    }

    @Test
    void socks5SendsTheServersNameForTheProxyToResolveAsGoDoes() throws Exception {
        startServer(Map.of());
        proxy = new Socks5Proxy(null, null);

        startClient("socks5://127.0.0.1:" + proxy.port(), Map.of(
                "PICOTUNNEL_SERVER", "ws://localhost:" + testbed.tunnelPort()));

        assertThat(client.awaitConnected(Duration.ofSeconds(15))).as("state %s", client.state()).isTrue();
        assertDataFlows();
        assertThat(proxy.requests().getFirst())
                .isEqualTo(new Socks5Proxy.Request(3, "localhost", testbed.tunnelPort(), null));
    }

    @Test
    void socks5WithAServerNameThisMachineCannotResolveLeavesItToTheProxy() throws Exception {
        startServer(Map.of());
        proxy = new Socks5Proxy(null, null);

        startClient("socks5://127.0.0.1:" + proxy.port(), Map.of(
                "PICOTUNNEL_SERVER", "ws://tunnel.invalid:" + testbed.tunnelPort()));

        assertThat(client.awaitConnected(Duration.ofSeconds(15))).as("state %s", client.state()).isTrue();
        assertDataFlows();
        assertThat(proxy.requests().getFirst())
                .isEqualTo(new Socks5Proxy.Request(3, "tunnel.invalid", testbed.tunnelPort(), null));
    }

    @Test
    void aServerGivenByIpAddressGoesToTheProxyAsThatAddressNotAsAName() throws Exception {
        startServer(Map.of());
        proxy = new Socks5Proxy(null, null);

        startClient("socks5h://127.0.0.1:" + proxy.port(), Map.of(
                "PICOTUNNEL_SERVER", "ws://127.0.0.1:" + testbed.tunnelPort()));

        assertThat(client.awaitConnected(Duration.ofSeconds(15))).as("state %s", client.state()).isTrue();
        assertDataFlows();
        assertThat(proxy.requests().getFirst())
                .isEqualTo(new Socks5Proxy.Request(1, "127.0.0.1", testbed.tunnelPort(), null));
        client.stop(Duration.ZERO).orTimeout(20, TimeUnit.SECONDS).join();

        // IPv6 as type 4; this proxy refuses it (the server listens on 127.0.0.1 only), after recording it.
        try (Socks5Proxy refusing = Socks5Proxy.refusing(5)) {
            startClient("socks5://127.0.0.1:" + refusing.port(), Map.of(
                    "PICOTUNNEL_SERVER", "ws://[::1]:" + testbed.tunnelPort()));

            await().atMost(10, TimeUnit.SECONDS).until(() -> !refusing.requests().isEmpty());
            assertThat(refusing.requests().getFirst())
                    .isEqualTo(new Socks5Proxy.Request(4, "0:0:0:0:0:0:0:1", testbed.tunnelPort(), null));
        }
    }

    @Test
    void wssClientThroughSocks5hFromHttpsProxyLeavesTheNameToTheProxyAndLogsInWithUserAndPassword() throws Exception {
        TestCertificates ca = new TestCertificates();
        TestCertificates.write(ca.issue("tunnel.test"), dataDir.resolve("operator"), "tunnel");
        startServer(Map.of(Setting.DOMAIN, "tunnel.test",
                Setting.TLS_CERT, dataDir.resolve("operator/tunnel.crt").toString(),
                Setting.TLS_KEY, dataDir.resolve("operator/tunnel.key").toString()));
        // Beyond ASCII, and with an '@' and a ':': RFC 1929 carries the bytes, which are the password's UTF-8.
        proxy = new Socks5Proxy("alice", "p@ss:wörd");

        startClient(null, Map.of(
                "PICOTUNNEL_SERVER", "wss://tunnel.test:" + testbed.tunnelPort(),
                "PICOTUNNEL_INSECURE", "true",
                "HTTPS_PROXY", "socks5h://alice:p%40ss%3Aw%C3%B6rd@127.0.0.1:" + proxy.port()));

        assertThat(client.awaitConnected(Duration.ofSeconds(15))).as("state %s", client.state()).isTrue();
        assertDataFlows();
        assertThat(proxy.requests().getFirst())
                .isEqualTo(new Socks5Proxy.Request(3, "tunnel.test", testbed.tunnelPort(), "alice"));
    }

    @Test
    void wrongOrMissingUserAndPasswordAreSaidPlainlyWithoutThePasswordAndRetriedWithBackoff() {
        startServer(Map.of());
        proxy = new Socks5Proxy("alice", "right");
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            startClient("socks5h://alice:wrong-s3cret@127.0.0.1:" + proxy.port(), Map.of(
                    "PICOTUNNEL_SERVER", "ws://tunnel.test:" + testbed.tunnelPort()));

            assertThat(firstWarning(log)).contains("Proxy authentication failed")
                    .contains("the proxy 127.0.0.1:" + proxy.port() + " (--proxy) refused the user and password")
                    .contains("Retrying in").doesNotContain("s3cret");
            assertThat(proxy.requests()).as("no connect request without logging in").isEmpty();
            await().atMost(10, TimeUnit.SECONDS).until(() -> log.messages(Level.WARN).size() >= 2);
            assertThat(log.messages(Level.WARN).get(1)).contains("refused the user and password").contains("Retrying in");
        }
        client.stop(Duration.ZERO).orTimeout(20, TimeUnit.SECONDS).join();

        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            startClient("socks5h://127.0.0.1:" + proxy.port(), Map.of(
                    "PICOTUNNEL_SERVER", "ws://tunnel.test:" + testbed.tunnelPort()));

            assertThat(firstWarning(log)).contains("Proxy authentication failed")
                    .contains("it wants a user and password; give them in the proxy URL,"
                            + " socks5h://user:password@host:port");
        }
    }

    @Test
    void eachSocksRefusalCodeIsSaidInTheLog() {
        startServer(Map.of());
        Map<Integer, String> said = Map.of(
                2, "with reply 2 (not allowed by ruleset). Its rules do not let this client reach the server's host"
                        + " or port: ask the proxy's administrators to allow tunnel.test:",
                4, "The proxy could not reach the server: the proxy 127.0.0.1:%d (--proxy) answered the SOCKS5"
                        + " connect to tunnel.test:%d with reply 4 (host unreachable)",
                5, "with reply 5 (connection refused): nothing accepts connections there",
                1, "with reply 1 (failure).",
                8, "with reply 8 (address type not supported): it takes no server names; give --server the server's"
                        + " IP address.");
        for (Map.Entry<Integer, String> code : said.entrySet()) {
            try (Socks5Proxy refusing = Socks5Proxy.refusing(code.getKey());
                 LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
                startClient("socks5h://127.0.0.1:" + refusing.port(), Map.of(
                        "PICOTUNNEL_SERVER", "ws://tunnel.test:" + testbed.tunnelPort()));

                assertThat(firstWarning(log)).as("reply %d", code.getKey())
                        .contains(code.getValue().formatted(refusing.port(), testbed.tunnelPort()))
                        .contains("Retrying in");
                assertThat(refusing.requests()).isNotEmpty();
            }
            client.stop(Duration.ZERO).orTimeout(20, TimeUnit.SECONDS).join();
        }
    }

    @Test
    void aServerPortTheProxyCannotConnectToGetsReplyFiveFromARealProxy() {
        startServer(Map.of());
        proxy = new Socks5Proxy(null, null);
        int closedPort = Ports.freePort();
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            startClient("socks5h://127.0.0.1:" + proxy.port(), Map.of("PICOTUNNEL_SERVER", "ws://tunnel.test:" + closedPort));

            assertThat(firstWarning(log)).contains("The proxy could not reach the server")
                    .contains("with reply 5 (connection refused)");
        }
    }
}
