package io.picotunnel.server.tls;

import ch.qos.logback.classic.Level;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.testkit.ClientHellos;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A failure of our own before the tunnel endpoint's TLS handshake (here: wss only, and no certificate for the domain)
 * is a warning, not a debug line taken for the peer's doing.
 */
class TunnelEndpointOwnFailureLogTest {

    private EventLoopGroup group;
    private Channel server;

    @BeforeEach
    void start() throws Exception {
        group = Transport.newEventLoopGroup(1, "endpoint-own-failure-test");
        TunnelEndpointTls tls = new TunnelEndpointTls(new CertificateStore(), "tunnel.test", false);
        server = new ServerBootstrap().group(group).channel(Transport.serverSocketChannel())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel channel) {
                        channel.pipeline().addLast(tls.newHandler());
                    }
                })
                .bind(InetAddress.getLoopbackAddress(), 0).sync().channel();
    }

    @AfterEach
    void stop() throws Exception {
        server.close().sync();
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).sync();
    }

    @Test
    void aClientHelloWithNoCertificateToServeIsWarnedAbout() throws Exception {
        try (LogCapture log = new LogCapture(TunnelEndpointTls.class, Level.DEBUG)) {
            try (Socket raw = new Socket()) {
                raw.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(),
                        ((InetSocketAddress) server.localAddress()).getPort()), 10_000);
                raw.setSoTimeout(10_000);
                raw.getOutputStream().write(ClientHellos.record("tunnel.test"));
                for (int i = 0; i < 100 && raw.getInputStream().read() != -1; i++) {
                    // until the close
                }
            }
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                    assertThat(log.messages(Level.WARN)).singleElement().asString()
                            .contains("unexpected error before the TLS handshake"));
        }
    }
}
