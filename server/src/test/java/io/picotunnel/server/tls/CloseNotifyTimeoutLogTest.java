package io.picotunnel.server.tls;

import ch.qos.logback.classic.Level;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.testkit.LogCapture;
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
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Connections closed while their visitor reads nothing wait {@link HttpsFrontDoor#CLOSE_NOTIFY_FLUSH_TIMEOUT} for
 * their close_notify, then are closed without it: that is logged at most once an interval, not once per connection
 * (Netty's TLS handler warns for each), and counted.
 */
class CloseNotifyTimeoutLogTest {

    private static final int CHUNK = 256 * 1024;
    /** Far more than the sockets' buffers on loopback hold: what is left to send when the server closes. */
    private static final int CHUNKS = 128;

    @TempDir
    Path data;

    private final TestCertificates ca = new TestCertificates();
    private final AtomicInteger closedByTheServer = new AtomicInteger();
    private EventLoopGroup group;
    private CertificateDirectory directory;
    private HttpsListener listener;

    /** Sends 32 MiB to every visitor once its handshake ends, and closes. */
    private final class FloodThenClose implements HttpPipelines {
        @Override
        public void initHttp1(ChannelPipeline pipeline, boolean https) {
            pipeline.addLast(new ChannelInboundHandlerAdapter() {
                @Override
                public void handlerAdded(ChannelHandlerContext ctx) {
                    ctx.channel().closeFuture().addListener(closed -> closedByTheServer.incrementAndGet());
                    byte[] chunk = new byte[CHUNK];
                    for (int i = 0; i < CHUNKS; i++) {
                        ctx.write(Unpooled.wrappedBuffer(chunk));
                    }
                    ctx.flush();
                    ctx.close();
                }
            });
        }

        @Override
        public void initHttp2(ChannelPipeline pipeline) {
            initHttp1(pipeline, true);
        }
    }

    @BeforeEach
    void start() throws Exception {
        group = Transport.newEventLoopGroup(1, "close-notify-test");
        CertificateStore store = new CertificateStore();
        directory = new CertificateDirectory(data.resolve("certs"), store);
        TestCertificates.write(ca.issue("alpha.test"), directory.directory(), "alpha.test");
        directory.scan();
        HttpsRouter router = new HttpsRouter(store, new PassthroughRoutes(), TlsAlpnChallenges.NONE, null);
        listener = new HttpsListener(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), group, router,
                new FloodThenClose(), (ctx, route) -> ctx.close());
        listener.start();
    }

    @AfterEach
    void stop() throws Exception {
        listener.close();
        directory.close();
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).sync();
    }

    @Test
    void closesWithoutCloseNotifyAreLoggedOnceAnIntervalAndCounted() throws Exception {
        long before = CloseNotifyTimeoutLog.closedWithoutCloseNotify();
        try (LogCapture log = new LogCapture(org.slf4j.Logger.ROOT_LOGGER_NAME, null);
             SSLSocket first = SniSockets.connect(ca.clientContext(), listener.port(), "alpha.test");
             SSLSocket second = SniSockets.connect(ca.clientContext(), listener.port(), "alpha.test")) {
            first.startHandshake();
            second.startHandshake();

            await().atMost(Duration.ofSeconds(15)).until(() -> closedByTheServer.get() == 2);

            assertThat(log.events()).filteredOn(event -> event.getLevel().isGreaterOrEqual(Level.WARN))
                    .as("warnings and errors: one line at most for both")
                    .hasSizeLessThanOrEqualTo(1)
                    .allSatisfy(event -> assertThat(event.getFormattedMessage())
                            .contains("closed without its close_notify"));
            assertThat(CloseNotifyTimeoutLog.closedWithoutCloseNotify() - before).isEqualTo(2);
        }
    }
}
