package io.picotunnel.client.tunnel;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslContext;
import io.netty.handler.ssl.SniHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.Future;
import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.ServerAddress;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.yamux.YamuxConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManagerFactory;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

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
        Certificate certificate = Certificate.selfSigned("localhost");
        Future<Channel> handshake = handshake(certificate, trusting(certificate), "localhost");
        assertThat(handshake.await(20, TimeUnit.SECONDS)).isTrue();
        assertThat(handshake.cause()).isNull();
    }

    @Test
    void aTrustedCertificateForAnotherNameIsRefused() throws Exception {
        Certificate certificate = Certificate.selfSigned("other.test");
        Future<Channel> handshake = handshake(certificate, trusting(certificate), "localhost");
        assertThat(handshake.await(20, TimeUnit.SECONDS)).isTrue();
        assertThat(handshake.cause()).as("the name is checked").isInstanceOf(SSLHandshakeException.class);
    }

    @Test
    void aCertificateNoTrustedCaSignedIsRefusedUnlessInsecure() throws Exception {
        Certificate certificate = Certificate.selfSigned("localhost");
        Future<Channel> refused = handshake(certificate, TunnelClient.sslContext(false, null), "localhost");
        assertThat(refused.await(20, TimeUnit.SECONDS)).isTrue();
        assertThat(refused.cause()).isInstanceOf(SSLHandshakeException.class);

        Future<Channel> insecure = handshake(certificate, TunnelClient.sslContext(true, null), "localhost");
        assertThat(insecure.await(20, TimeUnit.SECONDS)).isTrue();
        assertThat(insecure.cause()).isNull();
    }

    @Test
    void aServerNameWrittenWithItsTrailingDotGetsTlsForTheName() throws Exception {
        // "tunnel.dual.test." is the absolute form of the name, as DNS zone files and some users write it. It made
        // the JDK refuse the SNI (a name with a trailing dot), so every attempt failed before it left the client.
        Certificate certificate = Certificate.selfSigned("tunnel.dual.test");
        CompletableFuture<String> sni = tlsServerTellingTheSni(certificate);

        String seen = attemptTls("tunnel.dual.test.", trusting(certificate), sni);

        assertThat(seen).isEqualTo("tunnel.dual.test");
    }

    @Test
    void aServerNameSniCannotCarryIsReachedWithoutSni() throws Exception {
        // A Docker Compose service name such as tunnel_server, with --insecure: SNI takes letters, digits and hyphens
        // only, and the JDK refused the name, so every attempt failed before it left the client.
        Certificate certificate = Certificate.selfSigned("localhost");
        CompletableFuture<String> sni = tlsServerTellingTheSni(certificate);

        String seen = attemptTls("tunnel_server.dual.test", TunnelClient.sslContext(true, null), sni);

        assertThat(seen).isEqualTo("(none)");
    }

    /** A TLS server on 127.0.0.1 with {@code certificate}: completes with the name a client sent in SNI at the end of its handshake. */
    private CompletableFuture<String> tlsServerTellingTheSni(Certificate certificate) throws Exception {
        SslContext serverContext = SslContextBuilder.forServer(certificate.key(), certificate.cert()).build();
        CompletableFuture<String> sni = new CompletableFuture<>();
        server = new ServerBootstrap().group(group).channel(Transport.serverSocketChannel())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new SniHandler(name -> serverContext) {
                            @Override
                            protected void replaceHandler(ChannelHandlerContext ctx, String hostname,
                                                          SslContext context) throws Exception {
                                super.replaceHandler(ctx, hostname, context);
                                ctx.pipeline().get(SslHandler.class).handshakeFuture().addListener(f -> {
                                    if (f.isSuccess()) {
                                        sni.complete(hostname == null ? "(none)" : hostname);
                                    } else {
                                        sni.completeExceptionally(f.cause());
                                    }
                                });
                            }
                        });
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
        return sni;
    }

    /** The tunnel's connector, given {@code host} and the test server's port, up to the server's TLS handshake. */
    private String attemptTls(String host, SslContext client, CompletableFuture<String> sni) {
        int port = ((InetSocketAddress) server.localAddress()).getPort();
        ServerAddress address = ServerAddress.parse(host + ":" + port);
        TunnelConnector connector = new TunnelConnector(ClientConfig.of(address, "e".repeat(64)), client,
                YamuxConfig.defaults(), new ChannelInboundHandlerAdapter(), null, null);
        Future<Channel> attempt = connector.connect(group.next(), Runnable::run);
        try {
            await().atMost(20, TimeUnit.SECONDS).until(() -> sni.isDone() || attempt.isDone());
            assertThat(sni).as("the attempt failed with %s", attempt.cause()).isCompleted();
            return sni.join();
        } finally {
            attempt.cancel(false);
        }
    }

    /** A key and a self-signed certificate naming {@code name} (its subject and its one DNS name). */
    record Certificate(PrivateKey key, X509Certificate cert) {
        static Certificate selfSigned(String name) throws Exception {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(256);
            KeyPair pair = generator.generateKeyPair();
            X500Name subject = new X500Name("CN=" + name);
            Instant now = Instant.now();
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject,
                    BigInteger.valueOf(now.toEpochMilli()), Date.from(now.minus(1, ChronoUnit.HOURS)),
                    Date.from(now.plus(1, ChronoUnit.DAYS)), subject, pair.getPublic())
                    .addExtension(Extension.subjectAlternativeName, false,
                            new GeneralNames(new GeneralName(GeneralName.dNSName, name)));
            X509Certificate cert = new JcaX509CertificateConverter().getCertificate(
                    builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate())));
            return new Certificate(pair.getPrivate(), cert);
        }
    }

    /** The client's context that trusts {@code certificate} alone, as it checks the server's. */
    static SslContext trusting(Certificate certificate) throws Exception {
        KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
        store.load(null, null);
        store.setCertificateEntry("test", certificate.cert());
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(store);
        return TunnelClient.sslContext(false, trust);
    }

    /** A TLS server on 127.0.0.1 with {@code certificate}; the client handshakes naming the server {@code host}. */
    private Future<Channel> handshake(Certificate certificate, SslContext client, String host)
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
        // The handler itself, not looked up after the connect: a refused handshake may already have closed the
        // channel and emptied its pipeline by then.
        AtomicReference<SslHandler> tls = new AtomicReference<>();
        new Bootstrap().group(group).channel(Transport.socketChannel())
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        SslHandler handler = client.newHandler(ch.alloc(), host, port);
                        tls.set(handler);
                        ch.pipeline().addLast(handler);
                    }
                })
                .connect(new InetSocketAddress("127.0.0.1", port)).sync();
        return tls.get().handshakeFuture();
    }
}
