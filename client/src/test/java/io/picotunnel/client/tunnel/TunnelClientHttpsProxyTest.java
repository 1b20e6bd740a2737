package io.picotunnel.client.tunnel;

import ch.qos.logback.classic.Level;
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
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * An {@code https://} proxy, as Go's clients take one from {@code HTTPS_PROXY}: TLS to the proxy, then {@code CONNECT}
 * inside it. Its certificate is checked as the server's is (trusted CAs, the proxy's name), and {@code --insecure}
 * skips the check. The proxy is on 127.0.0.1 with a self-signed certificate for {@code localhost}; the server is
 * named {@code tunnel.test}, left to the proxy.
 */
class TunnelClientHttpsProxyTest {

    private static final String TOKEN = "e".repeat(64);
    private static final ServerAddress SERVER = ServerAddress.parse("ws://tunnel.test:8080");

    private ConnectProxy proxy;
    private TunnelClient client;
    private EventLoopGroup group;

    @AfterEach
    void tearDown() {
        if (client != null) {
            client.stop(Duration.ZERO).join();
        }
        if (group != null) {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
        }
        if (proxy != null) {
            proxy.close();
        }
    }

    private ClientConfig config() {
        return ClientConfig.of(SERVER, TOKEN).withShutdownGrace(Duration.ZERO)
                .withProxy(ProxyUrl.parse("https://localhost:" + proxy.port(), "--proxy"));
    }

    /** One attempt of the connector, checking the proxy's certificate with {@code proxyTls}; its outcome. */
    private Future<Channel> attempt(SslContext proxyTls) {
        group = Transport.newEventLoopGroup(1, "test-client");
        TunnelConnector connector = new TunnelConnector(config(), null, YamuxConfig.defaults(),
                new ChannelInboundHandlerAdapter(), null, null, Duration.ofSeconds(10), proxyTls);
        return connector.connect(group.next(), Runnable::run);
    }

    @Test
    void connectGoesInsideTlsToAProxyWhoseCertificateIsTrusted() throws Exception {
        ClientTlsTest.Certificate certificate = ClientTlsTest.Certificate.selfSigned("localhost");
        proxy = ConnectProxy.overTls(serverTls(certificate));

        Future<Channel> attempt = attempt(ClientTlsTest.trusting(certificate));

        await().atMost(Duration.ofSeconds(15)).until(() -> !proxy.requests().isEmpty());
        assertThat(proxy.requests().getFirst()).startsWith("CONNECT tunnel.test:8080 HTTP/1.1\r\n");
        attempt.cancel(false);
    }

    @Test
    void aProxyCertificateForAnotherNameIsRefusedAndSaidSo() throws Exception {
        ClientTlsTest.Certificate certificate = ClientTlsTest.Certificate.selfSigned("other.test");
        proxy = ConnectProxy.overTls(serverTls(certificate));

        Future<Channel> attempt = attempt(ClientTlsTest.trusting(certificate));

        assertThat(attempt.await(15, TimeUnit.SECONDS)).isTrue();
        assertThat(ConnectFailures.explain(SERVER, attempt.cause(), Duration.ofSeconds(10)))
                .startsWith("The certificate of the proxy https://localhost:" + proxy.port() + " (--proxy) is not trusted (it is"
                        + " not issued for this name)");
        assertThat(proxy.requests()).as("no CONNECT outside a trusted TLS").isEmpty();
    }

    @Test
    void aSelfSignedProxyCertificateIsRefusedAndRetriedUnlessInsecure() throws Exception {
        proxy = ConnectProxy.overTls(serverTls(ClientTlsTest.Certificate.selfSigned("localhost")));
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            client = new TunnelClient(config(), YamuxConfig.defaults(), new Backoff(() -> 0.0, Duration.ofSeconds(30),
                    System::nanoTime));
            client.start();

            await().atMost(Duration.ofSeconds(15)).until(() -> !log.messages(Level.WARN).isEmpty());
            assertThat(log.messages(Level.WARN).getFirst())
                    .contains("The certificate of the proxy https://localhost:" + proxy.port() + " (--proxy) is not trusted"
                            + " (no trusted CA signed it; it may be self-signed)")
                    .contains("pass --insecure")
                    .contains("Retrying in 1 s.");
            assertThat(proxy.requests()).isEmpty();
            client.stop(Duration.ZERO).join();

            client = new TunnelClient(config().withInsecure(true), YamuxConfig.defaults(), new Backoff());
            client.start();
            await().atMost(Duration.ofSeconds(15)).until(() -> !proxy.requests().isEmpty());
            assertThat(proxy.requests().getFirst()).startsWith("CONNECT tunnel.test:8080 HTTP/1.1\r\n");
        }
    }

    /** A server-side TLS context with {@code certificate} and its key. */
    private static SSLContext serverTls(ClientTlsTest.Certificate certificate) throws Exception {
        char[] password = "test".toCharArray();
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setKeyEntry("proxy", certificate.key(), password, new Certificate[] {certificate.cert()});
        KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keys.init(store, password);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(keys.getKeyManagers(), null, null);
        return context;
    }
}
