package io.picotunnel.server.e2e;

import ch.qos.logback.classic.Level;
import io.picotunnel.client.tunnel.TunnelClient;
import io.picotunnel.server.tls.TestCertificates;
import io.picotunnel.testkit.ConnectProxy;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
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

    private ProxiedClientBed bed;
    private ConnectProxy proxy;

    @AfterEach
    void stop() throws Exception {
        bed.close(proxy);
    }

    @Test
    void wsClientConnectsThroughHttpProxyFromTheEnvironmentWithBasicAuth() throws Exception {
        bed = new ProxiedClientBed(dataDir, Map.of(), "proxied");
        proxy = new ConnectProxy("alice", "p@ss:word");

        bed.startClient(null, Map.of(
                "PICOTUNNEL_SERVER", "ws://tunnel.test:" + bed.testbed.tunnelPort(),
                "HTTP_PROXY", "http://alice:p%40ss%3Aword@127.0.0.1:" + proxy.port()));

        bed.assertConnected();
        bed.assertDataFlows("through the proxy");
        String request = proxy.requests().getFirst();
        assertThat(request).startsWith("CONNECT tunnel.test:" + bed.testbed.tunnelPort() + " HTTP/1.1\r\n");
        assertThat(request).containsIgnoringCase("proxy-authorization: Basic "
                + Base64.getEncoder().encodeToString("alice:p@ss:word".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void aServerGivenByIpAddressIsNamedByThatAddressInTheConnectLineAndHostHeader() throws Exception {
        bed = new ProxiedClientBed(dataDir, Map.of(), "proxied");
        proxy = new ConnectProxy(null, null);
        int port = bed.testbed.tunnelPort();

        bed.startClient(proxy.url(), Map.of("PICOTUNNEL_SERVER", "ws://127.0.0.1:" + port));

        bed.assertConnected();
        bed.assertDataFlows("through the proxy");
        assertThat(proxy.requests().getFirst()).startsWith("CONNECT 127.0.0.1:" + port + " HTTP/1.1\r\n")
                .containsIgnoringCase("\r\nhost: 127.0.0.1:" + port + "\r\n");
        bed.stopClient();

        // IPv6 in brackets; this proxy refuses it (the server listens on 127.0.0.1 only), after recording it.
        try (ConnectProxy refusing = ConnectProxy.refusing(502)) {
            bed.startClient(refusing.url(), Map.of("PICOTUNNEL_SERVER", "ws://[::1]:" + port));

            await().atMost(10, TimeUnit.SECONDS).until(() -> !refusing.requests().isEmpty());
            assertThat(refusing.requests().getFirst()).startsWith("CONNECT [::1]:" + port + " HTTP/1.1\r\n")
                    .containsIgnoringCase("\r\nhost: [::1]:" + port + "\r\n");
        }
    }

    @Test
    void aServerNameBeyondAsciiGoesToTheProxyAsPunycode() throws Exception {
        bed = new ProxiedClientBed(dataDir, Map.of(), "proxied");
        proxy = new ConnectProxy(null, null);
        int port = bed.testbed.tunnelPort();

        // Below .localhost: this JVM's test resolver would answer it with loopback, were it asked.
        bed.startClient(proxy.url(), Map.of("PICOTUNNEL_SERVER", "ws://bücher.localhost:" + port));

        bed.assertConnected();
        bed.assertDataFlows("through the proxy");
        assertThat(proxy.requests().getFirst())
                .startsWith("CONNECT xn--bcher-kva.localhost:" + port + " HTTP/1.1\r\n")
                .containsIgnoringCase("\r\nhost: xn--bcher-kva.localhost:" + port + "\r\n");
    }

    @Test
    void wssClientConnectsThroughTheProxySettingWhichWinsOverHttpsProxy() throws Exception {
        TestCertificates ca = new TestCertificates();
        bed = ProxiedClientBed.overTls(dataDir, ca, "proxied");
        proxy = new ConnectProxy(null, null);

        try (ConnectProxy ignored = ConnectProxy.refusing(403)) {
            bed.startClient(null, Map.of(
                    "PICOTUNNEL_SERVER", "wss://tunnel.test:" + bed.testbed.tunnelPort(),
                    "PICOTUNNEL_INSECURE", "true",
                    "PICOTUNNEL_PROXY", proxy.url(),
                    "HTTPS_PROXY", ignored.url()));

            bed.assertConnected();
            bed.assertDataFlows("through the proxy");
            assertThat(proxy.requests().getFirst()).startsWith("CONNECT tunnel.test:" + bed.testbed.tunnelPort() + " ");
            assertThat(ignored.requests()).isEmpty();
        }
    }

    @Test
    void wssClientConnectsThroughAnHttpsProxyFromHttpsProxyWithTlsInsideTls() throws Exception {
        TestCertificates ca = new TestCertificates();
        bed = ProxiedClientBed.overTls(dataDir, ca, "proxied");
        proxy = ConnectProxy.overTls(TestCertificates.serverContext(ca.issue("localhost")));

        // The test CA is no system CA: --insecure skips the check of both certificates.
        bed.startClient(null, Map.of(
                "PICOTUNNEL_SERVER", "wss://tunnel.test:" + bed.testbed.tunnelPort(),
                "PICOTUNNEL_INSECURE", "true",
                "HTTPS_PROXY", "https://localhost:" + proxy.port()));

        bed.assertConnected();
        bed.assertDataFlows("through the https proxy");
        assertThat(proxy.requests().getFirst())
                .startsWith("CONNECT tunnel.test:" + bed.testbed.tunnelPort() + " HTTP/1.1\r\n");
    }

    @Test
    void wrongProxyPasswordIsSaidPlainlyAndRetriedWithBackoff() throws Exception {
        bed = new ProxiedClientBed(dataDir, Map.of(), "proxied");
        proxy = new ConnectProxy("alice", "right");
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            bed.startClient("http://alice:wrong@127.0.0.1:" + proxy.port(), Map.of(
                    "PICOTUNNEL_SERVER", "ws://tunnel.test:" + bed.testbed.tunnelPort()));

            await().atMost(10, TimeUnit.SECONDS).until(() -> !log.messages(Level.WARN).isEmpty());
            assertThat(log.messages(Level.WARN).getFirst())
                    .contains("Proxy authentication failed")
                    .contains("answered HTTP 407")
                    .contains("Check the user and password in the proxy URL")
                    .contains("Retrying in")
                    .doesNotContain("wrong");
            assertThat(bed.client().state()).isEqualTo(TunnelClient.State.WAITING_TO_RECONNECT);
        }
    }

    @Test
    void proxyThatForbidsTheServerOrCannotReachItIsSaidPlainly() throws Exception {
        bed = new ProxiedClientBed(dataDir, Map.of(), "proxied");
        try (ConnectProxy forbidding = ConnectProxy.refusing(403);
             LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            bed.startClient(forbidding.url(), Map.of(
                    "PICOTUNNEL_SERVER", "ws://tunnel.test:" + bed.testbed.tunnelPort()));

            await().atMost(10, TimeUnit.SECONDS).until(() -> !log.messages(Level.WARN).isEmpty());
            assertThat(log.messages(Level.WARN).getFirst()).contains("answered HTTP 403")
                    .contains("ask the proxy's administrators to allow tunnel.test:" + bed.testbed.tunnelPort());
            assertThat(bed.client().state()).isEqualTo(TunnelClient.State.WAITING_TO_RECONNECT);
        }
        bed.stopClient();

        proxy = new ConnectProxy(null, null);
        int closedPort = Ports.freePort();
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            bed.startClient(proxy.url(), Map.of("PICOTUNNEL_SERVER", "ws://tunnel.test:" + closedPort));

            await().atMost(10, TimeUnit.SECONDS).until(() -> !log.messages(Level.WARN).isEmpty());
            assertThat(log.messages(Level.WARN).getFirst()).contains("The proxy could not reach the server")
                    .contains("answered HTTP 502");
            assertThat(bed.client().state()).isEqualTo(TunnelClient.State.WAITING_TO_RECONNECT);
        }
    }

    @Test
    void proxyThatIsNotThereIsSaidPlainlyAndRetried() throws Exception {
        bed = new ProxiedClientBed(dataDir, Map.of(), "proxied");
        int nothingThere = Ports.freePort();
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            bed.startClient(null, Map.of("PICOTUNNEL_SERVER", "wss://tunnel.test:" + bed.testbed.tunnelPort(),
                    "HTTPS_PROXY", "http://u:secret@127.0.0.1:" + nothingThere));

            await().atMost(10, TimeUnit.SECONDS).until(() -> !log.messages(Level.WARN).isEmpty());
            assertThat(log.messages(Level.WARN).getFirst())
                    .contains("Nothing accepts connections on the proxy http://127.0.0.1:" + nothingThere
                            + " (HTTPS_PROXY)")
                    .doesNotContain("secret");
            assertThat(bed.client().state()).isEqualTo(TunnelClient.State.WAITING_TO_RECONNECT);
        }
    }
}
