package io.picotunnel.client.tunnel;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.util.SelfSignedCertificate;
import io.netty.util.concurrent.Future;
import io.picotunnel.protocol.net.Transport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManagerFactory;
import java.net.InetSocketAddress;
import java.security.KeyStore;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The client's TLS for wss://: BoringSSL (where it loads: the jar brings it for Linux x86-64), and with it the same
 * checks as the JDK's engine: a certificate must come from a trusted CA and name the server.
 */
class ClientTlsTest {

    private EventLoopGroup group;
    private Channel server;

    @BeforeEach
    void start() {
        group = Transport.newEventLoopGroup(1, "tls-test");
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close().syncUninterruptibly();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Test
    void boringSslIsTheEngineOnLinuxX8664() throws Exception {
        assertThat(OpenSsl.isAvailable()).as("BoringSSL loads: %s", OpenSsl.unavailabilityCause()).isTrue();
        assertThat(TunnelClient.sslContext(false, null)).isInstanceOf(OpenSslContext.class);
        assertThat(TunnelClient.sslContext(true, null)).isInstanceOf(OpenSslContext.class);
    }

    @Test
    void aTrustedCertificateForTheServersNameIsAccepted() throws Exception {
        SelfSignedCertificate certificate = new SelfSignedCertificate("localhost");
        Future<Channel> handshake = handshake(certificate, trusting(certificate), "localhost");
        assertThat(handshake.await(20, TimeUnit.SECONDS)).isTrue();
        assertThat(handshake.cause()).isNull();
    }

    @Test
    void aTrustedCertificateForAnotherNameIsRefused() throws Exception {
        SelfSignedCertificate certificate = new SelfSignedCertificate("other.test");
        Future<Channel> handshake = handshake(certificate, trusting(certificate), "localhost");
        assertThat(handshake.await(20, TimeUnit.SECONDS)).isTrue();
        assertThat(handshake.cause()).as("the name is checked").isInstanceOf(SSLHandshakeException.class);
    }

    @Test
    void aCertificateNoTrustedCaSignedIsRefusedUnlessInsecure() throws Exception {
        SelfSignedCertificate certificate = new SelfSignedCertificate("localhost");
        Future<Channel> refused = handshake(certificate, TunnelClient.sslContext(false, null), "localhost");
        assertThat(refused.await(20, TimeUnit.SECONDS)).isTrue();
        assertThat(refused.cause()).isInstanceOf(SSLHandshakeException.class);

        Future<Channel> insecure = handshake(certificate, TunnelClient.sslContext(true, null), "localhost");
        assertThat(insecure.await(20, TimeUnit.SECONDS)).isTrue();
        assertThat(insecure.cause()).isNull();
    }

    private static SslContext trusting(SelfSignedCertificate certificate) throws Exception {
        KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
        store.load(null, null);
        store.setCertificateEntry("test", certificate.cert());
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(store);
        return TunnelClient.sslContext(false, trust);
    }

    /** A TLS server on 127.0.0.1 with {@code certificate}; the client handshakes naming the server {@code host}. */
    private Future<Channel> handshake(SelfSignedCertificate certificate, SslContext client, String host)
            throws Exception {
        SslContext serverContext = SslContextBuilder.forServer(certificate.key(), certificate.cert()).build();
        server = new ServerBootstrap().group(group).channel(Transport.serverSocketChannel())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(serverContext.newHandler(ch.alloc()));
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
        int port = ((InetSocketAddress) server.localAddress()).getPort();
        Channel channel = new Bootstrap().group(group).channel(Transport.socketChannel())
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(client.newHandler(ch.alloc(), host, port));
                    }
                })
                .connect(new InetSocketAddress("127.0.0.1", port)).sync().channel();
        return channel.pipeline().get(SslHandler.class).handshakeFuture();
    }
}
