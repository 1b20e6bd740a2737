package io.picotunnel.server.tls;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.turbo.TurboFilter;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.server.net.RefusalLog;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.ManualClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Connections closed while their visitor reads nothing wait {@link HttpsFrontDoor#CLOSE_NOTIFY_FLUSH_TIMEOUT} for
 * their close_notify, then are closed without it: that is logged at most once an interval, not once per connection
 * (Netty's TLS handler warns for each), and counted. The filter's interval runs on a clock the test moves.
 */
class CloseNotifyTimeoutLogTest {

    private static final int CHUNK = 256 * 1024;
    /** Far more than the sockets' buffers on loopback hold: what is left to send when the server closes. */
    private static final int CHUNKS = 128;

    @TempDir
    Path data;

    private final TestCertificates ca = new TestCertificates();
    private final ManualClock clock = new ManualClock(Instant.EPOCH);
    private final CloseNotifyTimeoutLog filter = new CloseNotifyTimeoutLog(new RefusalLog(
            LoggerFactory.getLogger(CloseNotifyTimeoutLog.class), RefusalLog.DEFAULT_INTERVAL,
            clock::nanoTime));
    /** The short ids of the connections the server closed, in the order it closed them. */
    private final List<String> closedInOrder = new CopyOnWriteArrayList<>();
    /** The process's filters this test's took the place of, put back after it. */
    private final List<TurboFilter> replaced = new ArrayList<>();
    private LoopbackHttpsListener listener;

    /** Sends 32 MiB to every visitor once its handshake ends, and closes, noting which. */
    private final class FloodThenClose implements HttpPipelines {
        @Override
        public void initHttp1(ChannelPipeline pipeline, boolean https) {
            pipeline.addLast(new ChannelInboundHandlerAdapter() {
                @Override
                public void handlerAdded(ChannelHandlerContext ctx) {
                    closedInOrder.add(ctx.channel().id().asShortText());
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
        useFilter(filter);
        listener = new LoopbackHttpsListener(data, "close-notify-test", new FloodThenClose());
        listener.serve(ca.issue("alpha.test"), "alpha.test");
    }

    @AfterEach
    void stop() throws Exception {
        listener.close();
        LoggerContext context = context();
        context.getTurboFilterList().remove(filter);
        replaced.stream().filter(original -> !context.getTurboFilterList().contains(original))
                .forEach(context::addTurboFilter);
    }

    /**
     * This test's filter, with its clock, in place of the one the process may have installed (another test's line
     * within the interval would otherwise count against this one's); the listener's start then installs none. The
     * process's filter is put back after the test: the fork's later tests run filtered as before.
     */
    private void useFilter(CloseNotifyTimeoutLog filter) {
        LoggerContext context = context();
        replaced.addAll(context.getTurboFilterList().stream().filter(CloseNotifyTimeoutLog.class::isInstance).toList());
        context.getTurboFilterList().removeAll(replaced);
        filter.start();
        context.addTurboFilter(filter);
    }

    private static LoggerContext context() {
        return (LoggerContext) LoggerFactory.getILoggerFactory();
    }

    @Test
    void closesWithoutCloseNotifyAreLoggedOnceAnIntervalAndCounted() throws Exception {
        try (LogCapture log = new LogCapture(org.slf4j.Logger.ROOT_LOGGER_NAME, null)) {
            try (SSLSocket first = SniSockets.connect(ca.clientContext(), listener.port(), "alpha.test");
                 SSLSocket second = SniSockets.connect(ca.clientContext(), listener.port(), "alpha.test")) {
                first.startHandshake();
                await().atMost(Duration.ofSeconds(15)).until(() -> closedInOrder.size() == 1);
                second.startHandshake();

                await().atMost(Duration.ofSeconds(15)).until(() -> filter.closedWithoutCloseNotify() == 2);
            }
            assertThat(warningsAndErrors(log)).as("one line for both, naming the first")
                    .singleElement().asString()
                    .contains("TLS connection [id: 0x" + closedInOrder.getFirst(), "closed without its close_notify",
                            "within " + Durations.format(HttpsFrontDoor.CLOSE_NOTIFY_FLUSH_TIMEOUT) + " of the close")
                    .doesNotContain("more like this");

            clock.advance(RefusalLog.DEFAULT_INTERVAL);
            try (SSLSocket third = SniSockets.connect(ca.clientContext(), listener.port(), "alpha.test")) {
                third.startHandshake();
                await().atMost(Duration.ofSeconds(15)).until(() -> filter.closedWithoutCloseNotify() == 3);
            }
            assertThat(warningsAndErrors(log)).as("a line once the interval passed, with the one not logged")
                    .hasSize(2).last().asString()
                    .contains("TLS connection [id: 0x" + closedInOrder.get(2), "(1 more like this not logged");
        }
    }

    private static List<String> warningsAndErrors(LogCapture log) {
        return log.events().stream().filter(event -> event.getLevel().isGreaterOrEqual(Level.WARN))
                .map(ILoggingEvent::getFormattedMessage).toList();
    }
}
