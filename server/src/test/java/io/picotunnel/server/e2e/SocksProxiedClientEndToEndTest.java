package io.picotunnel.server.e2e;

import ch.qos.logback.classic.Level;
import io.picotunnel.client.tunnel.TunnelClient;
import io.picotunnel.server.tls.TestCertificates;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.Ports;
import io.picotunnel.testkit.Socks5Proxy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
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

    private ProxiedClientBed bed;
    private Socks5Proxy proxy;

    @AfterEach
    void stop() throws Exception {
        bed.close(proxy);
    }

    /** The first warning of the client once one is logged, with the client waiting to try again. */
    private String firstWarning(LogCapture log) {
        await().atMost(10, TimeUnit.SECONDS).until(() -> !log.messages(Level.WARN).isEmpty());
        assertThat(bed.client().state()).isIn(TunnelClient.State.WAITING_TO_RECONNECT, TunnelClient.State.CONNECTING);
        return log.messages(Level.WARN).getFirst();
    }

    @Test
    void socks5SendsTheServersNameForTheProxyToResolveAsGoDoes() throws Exception {
        bed = new ProxiedClientBed(dataDir, Map.of(), "socks");
        proxy = new Socks5Proxy(null, null);

        bed.startClient("socks5://127.0.0.1:" + proxy.port(), Map.of(
                "PICOTUNNEL_SERVER", "ws://localhost:" + bed.testbed.tunnelPort()));

        bed.assertConnected();
        bed.assertDataFlows("through socks");
        assertThat(proxy.requests().getFirst())
                .isEqualTo(new Socks5Proxy.Request(3, "localhost", bed.testbed.tunnelPort(), null));
    }

    @Test
    void socks5WithAServerNameThisMachineCannotResolveLeavesItToTheProxy() throws Exception {
        bed = new ProxiedClientBed(dataDir, Map.of(), "socks");
        proxy = new Socks5Proxy(null, null);

        bed.startClient("socks5://127.0.0.1:" + proxy.port(), Map.of(
                "PICOTUNNEL_SERVER", "ws://tunnel.invalid:" + bed.testbed.tunnelPort()));

        bed.assertConnected();
        bed.assertDataFlows("through socks");
        assertThat(proxy.requests().getFirst())
                .isEqualTo(new Socks5Proxy.Request(3, "tunnel.invalid", bed.testbed.tunnelPort(), null));
    }

    @Test
    void aServerNameBeyondAsciiGoesToTheProxyAsPunycode() throws Exception {
        bed = new ProxiedClientBed(dataDir, Map.of(), "socks");
        proxy = new Socks5Proxy(null, null);

        // Below .localhost: this JVM's test resolver would answer it with loopback, were it asked.
        bed.startClient("socks5://127.0.0.1:" + proxy.port(), Map.of(
                "PICOTUNNEL_SERVER", "ws://bücher.localhost:" + bed.testbed.tunnelPort()));

        bed.assertConnected();
        bed.assertDataFlows("through socks");
        assertThat(proxy.requests().getFirst())
                .isEqualTo(new Socks5Proxy.Request(3, "xn--bcher-kva.localhost", bed.testbed.tunnelPort(), null));
    }

    @Test
    void aServerGivenByIpAddressGoesToTheProxyAsThatAddressNotAsAName() throws Exception {
        bed = new ProxiedClientBed(dataDir, Map.of(), "socks");
        proxy = new Socks5Proxy(null, null);

        bed.startClient("socks5h://127.0.0.1:" + proxy.port(), Map.of(
                "PICOTUNNEL_SERVER", "ws://127.0.0.1:" + bed.testbed.tunnelPort()));

        bed.assertConnected();
        bed.assertDataFlows("through socks");
        assertThat(proxy.requests().getFirst())
                .isEqualTo(new Socks5Proxy.Request(1, "127.0.0.1", bed.testbed.tunnelPort(), null));
        bed.stopClient();

        // IPv6 as type 4; this proxy refuses it (the server listens on 127.0.0.1 only), after recording it.
        try (Socks5Proxy refusing = Socks5Proxy.refusing(5)) {
            bed.startClient("socks5://127.0.0.1:" + refusing.port(), Map.of(
                    "PICOTUNNEL_SERVER", "ws://[::1]:" + bed.testbed.tunnelPort()));

            await().atMost(10, TimeUnit.SECONDS).until(() -> !refusing.requests().isEmpty());
            assertThat(refusing.requests().getFirst())
                    .isEqualTo(new Socks5Proxy.Request(4, "0:0:0:0:0:0:0:1", bed.testbed.tunnelPort(), null));
        }
    }

    @Test
    void wssClientThroughSocks5hFromHttpsProxyLeavesTheNameToTheProxyAndLogsInWithUserAndPassword() throws Exception {
        TestCertificates ca = new TestCertificates();
        bed = ProxiedClientBed.overTls(dataDir, ca, "socks");
        // Beyond ASCII, and with an '@' and a ':': RFC 1929 carries the bytes, which are the password's UTF-8.
        proxy = new Socks5Proxy("alice", "p@ss:wörd");

        bed.startClient(null, Map.of(
                "PICOTUNNEL_SERVER", "wss://tunnel.test:" + bed.testbed.tunnelPort(),
                "PICOTUNNEL_INSECURE", "true",
                "HTTPS_PROXY", "socks5h://alice:p%40ss%3Aw%C3%B6rd@127.0.0.1:" + proxy.port()));

        bed.assertConnected();
        bed.assertDataFlows("through socks");
        assertThat(proxy.requests().getFirst())
                .isEqualTo(new Socks5Proxy.Request(3, "tunnel.test", bed.testbed.tunnelPort(), "alice"));
    }

    @Test
    void wrongOrMissingUserAndPasswordAreSaidPlainlyWithoutThePasswordAndRetriedWithBackoff() {
        bed = new ProxiedClientBed(dataDir, Map.of(), "socks");
        proxy = new Socks5Proxy("alice", "right");
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            bed.startClient("socks5h://alice:wrong-s3cret@127.0.0.1:" + proxy.port(), Map.of(
                    "PICOTUNNEL_SERVER", "ws://tunnel.test:" + bed.testbed.tunnelPort()));

            assertThat(firstWarning(log)).contains("Proxy authentication failed")
                    .contains("the proxy socks5h://127.0.0.1:" + proxy.port()
                            + " (--proxy) refused the user and password")
                    .contains("Retrying in").doesNotContain("s3cret");
            assertThat(proxy.requests()).as("no connect request without logging in").isEmpty();
            await().atMost(10, TimeUnit.SECONDS).until(() -> log.messages(Level.WARN).size() >= 2);
            assertThat(log.messages(Level.WARN).get(1)).contains("refused the user and password")
                    .contains("Retrying in");
        }
        bed.stopClient();

        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            bed.startClient("socks5h://127.0.0.1:" + proxy.port(), Map.of(
                    "PICOTUNNEL_SERVER", "ws://tunnel.test:" + bed.testbed.tunnelPort()));

            assertThat(firstWarning(log)).contains("Proxy authentication failed")
                    .contains("it wants a user and password; give them in the proxy URL,"
                            + " socks5h://user:password@host:port");
        }
    }

    @Test
    void eachSocksRefusalCodeIsSaidInTheLog() {
        bed = new ProxiedClientBed(dataDir, Map.of(), "socks");
        Map<Integer, String> said = Map.of(
                2, "with reply 2 (not allowed by ruleset). Its rules do not let this client reach the server's host"
                        + " or port: ask the proxy's administrators to allow tunnel.test:",
                4, "The proxy could not reach the server: the proxy socks5h://127.0.0.1:%d (--proxy) answered the"
                        + " SOCKS5 connect to tunnel.test:%d with reply 4 (host unreachable)",
                5, "with reply 5 (connection refused): nothing accepts connections there",
                1, "with reply 1 (failure).",
                8, "with reply 8 (address type not supported): it takes no server names; give --server the server's"
                        + " IP address.");
        for (Map.Entry<Integer, String> code : said.entrySet()) {
            try (Socks5Proxy refusing = Socks5Proxy.refusing(code.getKey());
                 LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
                bed.startClient("socks5h://127.0.0.1:" + refusing.port(), Map.of(
                        "PICOTUNNEL_SERVER", "ws://tunnel.test:" + bed.testbed.tunnelPort()));

                assertThat(firstWarning(log)).as("reply %d", code.getKey())
                        .contains(code.getValue().formatted(refusing.port(), bed.testbed.tunnelPort()))
                        .contains("Retrying in");
                assertThat(refusing.requests()).isNotEmpty();
            }
            bed.stopClient();
        }
    }

    @Test
    void aServerPortTheProxyCannotConnectToGetsReplyFiveFromARealProxy() {
        bed = new ProxiedClientBed(dataDir, Map.of(), "socks");
        proxy = new Socks5Proxy(null, null);
        int closedPort = Ports.freePort();
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            bed.startClient("socks5h://127.0.0.1:" + proxy.port(),
                    Map.of("PICOTUNNEL_SERVER", "ws://tunnel.test:" + closedPort));

            assertThat(firstWarning(log)).contains("The proxy could not reach the server")
                    .contains("with reply 5 (connection refused)");
        }
    }
}
