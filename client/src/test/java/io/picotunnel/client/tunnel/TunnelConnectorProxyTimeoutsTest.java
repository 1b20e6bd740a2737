package io.picotunnel.client.tunnel;

import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.Future;
import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.ProxyUrl;
import io.picotunnel.client.config.ServerAddress;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.testkit.ConnectProxy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Which timeout bounds each step of an attempt through a proxy: the TLS handshake with an {@code https://} proxy has
 * what remains of the connect timeout (not Netty's 10 s), and TLS to the server with the upgrade have the handshake
 * timeout from the moment the proxy let the client through (not from the TCP connection to the proxy). Proxies and
 * servers are on 127.0.0.1; the server is named {@code tunnel.test}, left to the proxy.
 */
class TunnelConnectorProxyTimeoutsTest {

    private static final String TOKEN = "e".repeat(64);
    /** A server left to the proxy to find; a silent proxy never gets to it. */
    private static final ServerAddress BEHIND_THE_PROXY = ServerAddress.parse("ws://tunnel.test:8080");

    private final EventLoopGroup group = Transport.newEventLoopGroup(1, "proxy-timeouts-test");
    private ConnectProxy proxy;
    private long startNanos;

    @AfterEach
    void tearDown() {
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
        if (proxy != null) {
            proxy.close();
        }
    }

    /**
     * One attempt to {@code server} through {@code proxyUrl}, from now ({@link #millisSinceStart}); {@code serverTls}
     * for a wss server, else null.
     */
    private Future<Channel> attempt(ServerAddress server, String proxyUrl, SslContext serverTls,
                                    Duration connectTimeout, Duration handshakeTimeout) throws Exception {
        ProxyUrl parsed = ProxyUrl.parse(proxyUrl, "--proxy");
        ClientConfig config = ClientConfig.of(server, TOKEN).withProxy(parsed);
        SslContext proxyTls = parsed.scheme().tls()
                ? ClientTlsTest.trusting(ClientTlsTest.Certificate.selfSigned("localhost")) : null;
        TunnelConnector connector = new TunnelConnector(config, serverTls, YamuxConfig.defaults(),
                new ChannelInboundHandlerAdapter(), null, null, connectTimeout, proxyTls)
                .withHandshakeTimeout(handshakeTimeout);
        startNanos = System.nanoTime();
        return connector.connect(group.next(), Runnable::run);
    }

    /**
     * One attempt to {@link #BEHIND_THE_PROXY} through an {@code https://} proxy that takes the connection and never
     * answers the TLS handshake, with {@code connectTimeout}.
     */
    private Future<Channel> attemptThroughASilentHttpsProxy(Duration connectTimeout) throws Exception {
        proxy = ConnectProxy.silent();
        return attempt(BEHIND_THE_PROXY, "https://127.0.0.1:" + proxy.port(), null, connectTimeout,
                TunnelConnector.HANDSHAKE_TIMEOUT);
    }

    /** Milliseconds since the last attempt started. */
    private long millisSinceStart() {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    @Test
    void anHttpsProxyThatNeverAnswersTheTlsHandshakeIsGivenUpOnAtTheConnectTimeoutAndSaidSo() throws Exception {
        Future<Channel> attempt = attemptThroughASilentHttpsProxy(Duration.ofSeconds(1));

        assertThat(attempt.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(millisSinceStart()).as("ms until the attempt failed").isBetween(900L, 3_000L);
        assertThat(ConnectFailures.explain(BEHIND_THE_PROXY, attempt.cause(), Duration.ofSeconds(1)))
                .isEqualTo("The proxy https://127.0.0.1:" + proxy.port() + " (--proxy) did not complete the TLS"
                        + " handshake within 1 s: it may be overloaded, or not take TLS on that port; check the proxy's"
                        + " address, port and scheme, or pass --proxy none if the server can be reached directly.");
        assertThat(proxy.requests()).as("no CONNECT outside TLS").isEmpty();
    }

    @Test
    void anHttpsProxysTlsHandshakeHasAllOfAConnectTimeoutLongerThanNettysOwnTenSeconds() throws Exception {
        // Netty's SslHandler gives up on a handshake after 10 s unless told otherwise: 12 s shows which one holds.
        Future<Channel> attempt = attemptThroughASilentHttpsProxy(Duration.ofSeconds(12));

        assertThat(attempt.await(20, TimeUnit.SECONDS)).isTrue();
        assertThat(millisSinceStart()).as("ms until the attempt failed").isBetween(11_500L, 14_000L);
        assertThat(ConnectFailures.explain(BEHIND_THE_PROXY, attempt.cause(), Duration.ofSeconds(12)))
                .startsWith("The proxy https://127.0.0.1:" + proxy.port() + " (--proxy) did not complete the TLS"
                        + " handshake within 12 s");
    }

    @Test
    void theUpgradesTimeoutCountsFromTheProxysAnswerNotFromTheConnectionToTheProxy() throws Exception {
        proxy = ConnectProxy.answeringAfter(Duration.ofMillis(1500));
        try (ScriptedTunnelServer tunnel = new ScriptedTunnelServer((socket, key, connection) -> {
            ScriptedTunnelServer.answer101(socket, key);
            ScriptedTunnelServer.drainUntilEof(socket);
        })) {
            ServerAddress server = ServerAddress.parse("ws://tunnel.test:" + tunnel.address().split(":")[1]);

            // The proxy answers CONNECT 1.5 s in, within the connect timeout (5 s) but after the upgrade's (1 s).
            Future<Channel> attempt = attempt(server, proxy.url(), null, Duration.ofSeconds(5), Duration.ofSeconds(1));

            assertThat(attempt.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(attempt.cause()).as("the attempt's failure").isNull();
            attempt.getNow().close();
        }
    }

    @Test
    void theServersTlsHandshakeHasTheHandshakeTimeoutFromTheProxysAnswerAndIsSaidToHaveTimedOut() throws Exception {
        proxy = ConnectProxy.answeringAfter(Duration.ofMillis(1500));
        // Takes the connection through the proxy, and never answers the client's TLS hello.
        try (ScriptedTunnelServer silent = new ScriptedTunnelServer(
                (socket, key, connection) -> ScriptedTunnelServer.drainUntilEof(socket))) {
            ServerAddress server = ServerAddress.parse("wss://tunnel.test:" + silent.address().split(":")[1]);

            Future<Channel> attempt = attempt(server, proxy.url(), TunnelClient.sslContext(true, null),
                    Duration.ofSeconds(5), Duration.ofSeconds(1));

            assertThat(attempt.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(millisSinceStart()).as("ms until the attempt failed: 1.5 s for CONNECT, then 1 s")
                    .isBetween(2_400L, 4_500L);
            assertThat(ConnectFailures.explain(server, attempt.cause(), Duration.ofSeconds(5)))
                    .isEqualTo(server.hostPort() + " took the connection but did not complete the TLS handshake within"
                            + " 1 s: check that --server names the server's tunnel port (its --tunnel-addr, 8443 by"
                            + " default) and that the server is not overloaded.");
        }
    }
}
