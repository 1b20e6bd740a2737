package io.picotunnel.client.tunnel;

import ch.qos.logback.classic.Level;
import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.ProxyUrl;
import io.picotunnel.client.config.ServerAddress;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.testkit.ConnectProxy;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.SilentListener;
import io.picotunnel.testkit.Socks5Proxy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * How the client retries through an HTTP or SOCKS5 proxy that does not let it through: one that asks it to wait
 * ({@code Retry-After}), and one that takes the connection and never answers {@code CONNECT} or its SOCKS5 greeting.
 * The server is named {@code tunnel.test}, which this JVM does not resolve: only the proxy would, and these proxies
 * never get that far.
 */
class TunnelClientProxyTest {

    private static final String TOKEN = "e".repeat(64);
    private static final ServerAddress SERVER = ServerAddress.parse("ws://tunnel.test:8080");

    private ConnectProxy proxy;
    private TunnelClient client;

    @AfterEach
    void tearDown() {
        if (client != null) {
            client.stop(Duration.ZERO).join();
        }
        if (proxy != null) {
            proxy.close();
        }
    }

    /** A client through {@code proxyUrl} whose backoff takes nothing off at random: 1 s, then 2 s... */
    private void startClient(String proxyUrl) {
        startClient(proxyUrl, ClientConfig.DEFAULT_CONNECT_TIMEOUT);
    }

    private void startClient(String proxyUrl, Duration connectTimeout) {
        ClientConfig config = ClientConfig.of(SERVER, TOKEN).withShutdownGrace(Duration.ZERO)
                .withProxy(ProxyUrl.parse(proxyUrl, "--proxy"));
        client = new TunnelClient(config, YamuxConfig.defaults(), new Backoff(() -> 0.0, Duration.ofSeconds(30),
                System::nanoTime), connectTimeout);
        client.start();
    }

    @Test
    void proxyThatTakesTheConnectionAndNeverAnswersConnectIsGivenUpOnAndRetriedWithBackoff() {
        proxy = ConnectProxy.silent();
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            startClient("http://alice:s3cret@127.0.0.1:" + proxy.port(), Duration.ofMillis(300));

            await().atMost(Duration.ofSeconds(15)).until(() -> proxy.arrivalsNanos().size() >= 3);
            assertThat(log.messages(Level.WARN)).hasSizeGreaterThanOrEqualTo(2);
            assertThat(log.messages(Level.WARN).get(0))
                    .contains("The proxy http://127.0.0.1:" + proxy.port() + " (--proxy) did not answer CONNECT tunnel.test:8080"
                            + " within 300 ms")
                    .contains("Retrying in 1 s.")
                    .doesNotContain("s3cret");
            assertThat(log.messages(Level.WARN).get(1)).contains("did not answer CONNECT").contains("Retrying in 2 s.");
            // Each attempt lasted the timeout, then waited its delay: 0.3 + 1 s, then 0.3 + 2 s.
            List<Long> arrivals = proxy.arrivalsNanos();
            assertThat((arrivals.get(1) - arrivals.get(0)) / 1_000_000).isBetween(1_200L, 2_500L);
            assertThat((arrivals.get(2) - arrivals.get(1)) / 1_000_000).isBetween(2_200L, 3_500L);
            assertThat(client.state()).isIn(TunnelClient.State.WAITING_TO_RECONNECT, TunnelClient.State.CONNECTING);
        }
    }

    @Test
    void socksProxyThatNeverAnswersItsHandshakeIsGivenUpOnWithinTheConnectTimeoutAndRetriedWithBackoff() {
        try (Socks5Proxy socks = Socks5Proxy.silent();
             LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            startClient("socks5h://alice:s3cret@127.0.0.1:" + socks.port(), Duration.ofMillis(300));

            await().atMost(Duration.ofSeconds(15)).until(() -> socks.greetingsNanos().size() >= 3);
            assertThat(log.messages(Level.WARN).get(0))
                    .contains("The proxy socks5h://127.0.0.1:" + socks.port() + " (--proxy) did not answer the SOCKS5 connect to"
                            + " tunnel.test:8080 within 300 ms")
                    .contains("Retrying in 1 s.")
                    .doesNotContain("s3cret");
            assertThat(log.messages(Level.WARN).get(1)).contains("did not answer the SOCKS5 connect")
                    .contains("Retrying in 2 s.");
            List<Long> greetings = socks.greetingsNanos();
            assertThat((greetings.get(1) - greetings.get(0)) / 1_000_000).isBetween(1_200L, 2_500L);
            assertThat((greetings.get(2) - greetings.get(1)) / 1_000_000).isBetween(2_200L, 3_500L);
        }
    }

    @Test
    void proxyThatClosesTheConnectionOnConnectIsSaidToHaveClosedItAndRetriedWithBackoff() {
        proxy = ConnectProxy.closingOnRequest();
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            startClient(proxy.url());

            await().atMost(Duration.ofSeconds(15)).until(() -> proxy.arrivalsNanos().size() >= 2);
            await().atMost(Duration.ofSeconds(5)).until(() -> log.messages(Level.WARN).size() >= 2);
            assertThat(log.messages(Level.WARN).get(0))
                    .contains("The proxy http://127.0.0.1:" + proxy.port() + " (--proxy) closed the connection during CONNECT"
                            + " tunnel.test:8080, before it answered")
                    .doesNotContain("Nothing accepts connections")
                    .contains("Retrying in 1 s.");
            assertThat(log.messages(Level.WARN).get(1)).contains("closed the connection during CONNECT")
                    .contains("Retrying in 2 s.");
        }
    }

    @Test
    void proxyThatResetsTheConnectionOnConnectIsSaidToHaveResetIt() {
        proxy = ConnectProxy.resettingOnRequest();
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            startClient(proxy.url());

            await().atMost(Duration.ofSeconds(15)).until(() -> !log.messages(Level.WARN).isEmpty());
            assertThat(log.messages(Level.WARN).getFirst())
                    .contains("The proxy http://127.0.0.1:" + proxy.port() + " (--proxy) reset the connection during CONNECT"
                            + " tunnel.test:8080, before it answered")
                    .doesNotContain("Nothing accepts connections")
                    .contains("Retrying in 1 s.");
        }
    }

    @Test
    void socksProxyThatClosesTheConnectionOnItsGreetingIsSaidToHaveClosedItAndRetriedWithBackoff() {
        try (Socks5Proxy socks = Socks5Proxy.closingOnGreeting();
             LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            startClient("socks5://127.0.0.1:" + socks.port());

            await().atMost(Duration.ofSeconds(15)).until(() -> socks.greetingsNanos().size() >= 2);
            await().atMost(Duration.ofSeconds(5)).until(() -> log.messages(Level.WARN).size() >= 2);
            assertThat(log.messages(Level.WARN).get(0))
                    .contains("The proxy socks5://127.0.0.1:" + socks.port() + " (--proxy) closed the connection during the"
                            + " SOCKS5 handshake for tunnel.test:8080, before it answered")
                    .doesNotContain("Nothing accepts connections")
                    .contains("Retrying in 1 s.");
            assertThat(log.messages(Level.WARN).get(1)).contains("closed the connection during the SOCKS5 handshake")
                    .contains("Retrying in 2 s.");
        }
    }

    @Test
    void theSocksProxysLookupAndItsHandshakeShareOneConnectTimeout() {
        // The proxy's name takes 2 s to resolve; then its greeting is never answered: the handshake has the 2 s left.
        // socks5:// as Go reads it: the server's name (which this JVM does not resolve) is the proxy's to resolve, so
        // the proxy's name is the only lookup in the deadline.
        try (Socks5Proxy socks = Socks5Proxy.silent();
             LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            long start = System.nanoTime();
            startClient("socks5://proxy.slowdual.test:" + socks.port(), Duration.ofSeconds(4));

            await().atMost(Duration.ofSeconds(15)).until(() -> !log.messages(Level.WARN).isEmpty());
            long failedMillis = (System.nanoTime() - start) / 1_000_000;
            assertThat(socks.greetingsNanos()).as("the greeting came, after the slow lookup").isNotEmpty();
            assertThat((socks.greetingsNanos().getFirst() - start) / 1_000_000)
                    .isGreaterThanOrEqualTo(SlowDnsResolverProvider.DUAL_DELAY.toMillis() - 100);
            assertThat(log.messages(Level.WARN).getFirst())
                    .contains("did not answer the SOCKS5 connect to tunnel.test:8080 within 4 s");
            // Given up once the 4 s are over, not 4 s after the handshake began (6 s).
            assertThat(failedMillis).as("ms until the attempt failed").isBetween(3_900L, 5_400L);
        }
    }

    @Test
    void connectionToTheProxyAndItsAnswerToConnectShareOneConnectTimeout() {
        // The TCP handshake with this proxy takes from about 2 s to 3 s; then CONNECT is never answered, and has what
        // is left of the 5 s: 2 to 3 s. Were it given the whole 5 s, the attempt would end 2 s or more later.
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            // Its 2 s count from here: the client starts at once.
            proxy = ConnectProxy.silentAcceptingLate(Duration.ofSeconds(2));
            long start = System.nanoTime();
            startClient(proxy.url(), Duration.ofSeconds(5));

            await().atMost(Duration.ofSeconds(15)).until(() -> !log.messages(Level.WARN).isEmpty());
            long failedMillis = (System.nanoTime() - start) / 1_000_000;
            assertThat(proxy.arrivalsNanos()).as("the CONNECT came, after a slow handshake").isNotEmpty();
            long connectArrivedMillis = (proxy.arrivalsNanos().getFirst() - start) / 1_000_000;
            assertThat(connectArrivedMillis).isGreaterThanOrEqualTo(1_800);
            assertThat(log.messages(Level.WARN).getFirst()).contains("did not answer CONNECT tunnel.test:8080 within 5 s");
            // Given up once the 5 s are over (CONNECT had at most 5 s - 1.8 s), not 5 s after the handshake: a second
            // to spare both ways, for a slow machine's lateness and for the CONNECT's way to the proxy. Measured from
            // the CONNECT's arrival, so a later handshake than usual is not a failure.
            assertThat(failedMillis - connectArrivedMillis).as("ms from the CONNECT's arrival to the give-up")
                    .isLessThan(4_000L);
            assertThat(failedMillis).isGreaterThanOrEqualTo(4_900L);
        }
    }

    @Test
    void theProxysAddressesShareTheOneConnectTimeoutWithItsAnswerToConnect() throws Exception {
        // The proxy's name resolves to ::1, where nothing answers, then to 127.0.0.1, where the proxy takes the
        // connection and never answers CONNECT: the attempt ends within the one 6 s all the same.
        proxy = ConnectProxy.silent();
        try (SilentListener silentFirst = new SilentListener(InetAddress.getByName("::1"), proxy.port());
             LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            long start = System.nanoTime();
            startClient("http://proxy.ipv6first.test:" + silentFirst.port(), Duration.ofSeconds(6));

            await().atMost(Duration.ofSeconds(20)).until(() -> !log.messages(Level.WARN).isEmpty());
            long failedMillis = (System.nanoTime() - start) / 1_000_000;
            assertThat(proxy.arrivalsNanos()).as("the CONNECT came, at the second address").isNotEmpty();
            long connectArrivedMillis = (proxy.arrivalsNanos().getFirst() - start) / 1_000_000;
            // 127.0.0.1 was tried 300 ms after ::1 (Happy Eyeballs), not once ::1's share of the 6 s had run out;
            // the CONNECT had what was left of the 6 s.
            assertThat(connectArrivedMillis).isBetween(HappyEyeballs.FALLBACK_DELAY.toMillis() - 50, 2_900L);
            assertThat(log.messages(Level.WARN).getFirst()).contains("did not answer CONNECT tunnel.test:8080 within 6 s");
            // Not 6 s for the silent address, then 6 s more for the CONNECT: 12 s in all.
            assertThat(failedMillis).as("ms until the attempt failed").isGreaterThanOrEqualTo(5_900).isLessThan(9_000);
        }
    }

    @Test
    void theProxysAnswerToConnectIsReportedThoughAnAddressBeforeItFailed() {
        // The proxy's name resolves to ::1, where nothing listens (refused at once), then to 127.0.0.1, where the
        // proxy answers CONNECT with a 503 and a Retry-After: the attempt says what the proxy said, and waits it out.
        proxy = ConnectProxy.refusing(503, "Retry-After: 3\r\n");
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            startClient("http://proxy.ipv6first.test:" + proxy.port());

            await().atMost(Duration.ofSeconds(15)).until(() -> !log.messages(Level.WARN).isEmpty());
            assertThat(proxy.arrivalsNanos()).as("the CONNECT came, at the second address").isNotEmpty();
            assertThat(log.messages(Level.WARN).getFirst())
                    .contains("answered HTTP 503")
                    .contains("The proxy asked to wait 3 s (Retry-After)");
        }
    }

    @Test
    void proxysRetryAfterOnItsRefusalIsWaitedOutBeforeTheNextAttempt() {
        proxy = ConnectProxy.refusing(503, "Retry-After: 3\r\n");
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            startClient(proxy.url());

            await().atMost(Duration.ofSeconds(15)).until(() -> proxy.arrivalsNanos().size() >= 2);
            List<Long> arrivals = proxy.arrivalsNanos();
            long gapMillis = (arrivals.get(1) - arrivals.get(0)) / 1_000_000;
            // The backoff alone would have come back after 1 s.
            assertThat(gapMillis).as("gap between CONNECTs").isGreaterThanOrEqualTo(2_900);
            assertThat(log.messages(Level.WARN).getFirst())
                    .contains("answered HTTP 503")
                    .contains("The proxy asked to wait 3 s (Retry-After): retrying in 3 s.");
        }
    }

    @Test
    void proxysRetryAfterIsBoundedAsTheServersIs() {
        proxy = ConnectProxy.refusing(503, "Retry-After: 86400\r\n");
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            startClient(proxy.url());

            await().atMost(Duration.ofSeconds(15)).until(() -> !log.messages(Level.WARN).isEmpty());
            assertThat(log.messages(Level.WARN).getFirst())
                    .contains("The proxy asked to wait 10 min (Retry-After): retrying in 10 min.");
            assertThat(client.state()).isEqualTo(TunnelClient.State.WAITING_TO_RECONNECT);
        }
    }

    @Test
    void proxysReasonPhraseForItsRefusalIsWrittenOutAndCut() throws Exception {
        // The proxy chooses its reason phrase: an ESC in it, and the UTF-8 of U+202E (read as "â", U+0080, "®").
        byte[] reason = ("Nope \u001b[2K\u00e2\u0080\u00ae" + "r".repeat(400)).getBytes(StandardCharsets.ISO_8859_1);
        try (ScriptedTunnelServer refusing = new ScriptedTunnelServer((socket, key, connection) -> {
            ScriptedTunnelServer.write(socket, "HTTP/1.1 403 ".getBytes(StandardCharsets.US_ASCII));
            ScriptedTunnelServer.write(socket, reason);
            ScriptedTunnelServer.write(socket, "\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        });
             LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            startClient("http://" + refusing.address());

            await().atMost(Duration.ofSeconds(15)).until(() -> !log.messages(Level.WARN).isEmpty());
            assertThat(log.messages(Level.WARN).getFirst())
                    .contains("answered HTTP 403 Nope \\u001b[2K\u00e2\\u0080\u00ae" + "r".repeat(188)
                            + "...(412 chars) to CONNECT tunnel.test:8080")
                    .doesNotContain("\u001b", "\u0080", "r".repeat(189));
        }
    }
}
