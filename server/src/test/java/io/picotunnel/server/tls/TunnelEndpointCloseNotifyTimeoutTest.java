package io.picotunnel.server.tls;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.picotunnel.protocol.net.Transport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The tunnel endpoint's TLS closes a connection whose peer reads nothing at the close_notify timeout it is given:
 * 300 ms here, far from Netty's default and the listener's 3 s, so a timeout not passed on shows.
 */
class TunnelEndpointCloseNotifyTimeoutTest {

    private static final Duration TIMEOUT = Duration.ofMillis(300);
    private static final int CHUNK = 256 * 1024;
    /** Far more than the sockets' buffers on loopback hold: what is left to send when the server closes. */
    private static final int CHUNKS = 128;

    @TempDir
    Path data;

    private final TestCertificates ca = new TestCertificates();
    /** When the server closed the connection and when the connection was closed for real, in nanoseconds. */
    private final AtomicLong closeAsked = new AtomicLong();
    private final AtomicLong closed = new AtomicLong();
    private EventLoopGroup group;
    private CertificateDirectory directory;
    private Channel server;

    @BeforeEach
    void start() throws Exception {
        group = Transport.newEventLoopGroup(1, "endpoint-close-notify-test");
        CertificateStore store = new CertificateStore();
        directory = new CertificateDirectory(data.resolve("certs"), store);
        TestCertificates.write(ca.issue("tunnel.test"), directory.directory(), "tunnel.test");
        directory.scan();
        TunnelEndpointTls tls = new TunnelEndpointTls(store, "tunnel.test", false);
        server = new ServerBootstrap().group(group).channel(Transport.serverSocketChannel())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel channel) {
                        channel.pipeline().addLast(tls.newHandler(TIMEOUT), new FloodThenClose());
                    }
                })
                .bind(InetAddress.getLoopbackAddress(), 0).sync().channel();
    }

    @AfterEach
    void stop() throws Exception {
        server.close().sync();
        directory.close();
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).sync();
    }

    /** Sends 32 MiB once the handshake ends, and closes, noting when. */
    private final class FloodThenClose extends ChannelInboundHandlerAdapter {
        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            if (event instanceof SslHandshakeCompletionEvent done && done.isSuccess()) {
                byte[] chunk = new byte[CHUNK];
                for (int i = 0; i < CHUNKS; i++) {
                    ctx.write(Unpooled.wrappedBuffer(chunk));
                }
                ctx.flush();
                ctx.channel().closeFuture().addListener(f -> closed.set(System.nanoTime()));
                closeAsked.set(System.nanoTime());
                ctx.close();
            }
            ctx.fireUserEventTriggered(event);
        }
    }

    @Test
    void aPeerThatReadsNothingIsCutAtTheTimeoutGiven() throws Exception {
        int port = ((InetSocketAddress) server.localAddress()).getPort();
        try (SSLSocket visitor = SniSockets.connect(ca.clientContext(), port, "tunnel.test")) {
            visitor.startHandshake();
            await().atMost(Duration.ofSeconds(15)).until(() -> closed.get() != 0);
        }
        Duration waited = Duration.ofNanos(closed.get() - closeAsked.get());
        assertThat(waited).as("from the close to the connection's end")
                .isGreaterThanOrEqualTo(TIMEOUT.minusMillis(50)).isLessThan(Duration.ofMillis(2_000));
    }
}
