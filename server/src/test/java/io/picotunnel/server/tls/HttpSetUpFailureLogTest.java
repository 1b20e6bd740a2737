package io.picotunnel.server.tls;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import io.netty.channel.ChannelPipeline;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A failure of our own HTTP set-up after the TLS handshake (Netty hands it to the ALPN dispatcher, as it does a
 * visitor's reset) is a warning with its stack trace, not a debug line.
 */
class HttpSetUpFailureLogTest {

    @TempDir
    Path data;

    private final TestCertificates ca = new TestCertificates();
    private LoopbackHttpsListener listener;

    /** HTTP handling whose set-up is broken, as a bug of ours would break it. */
    private static final class BrokenHttpSetUp implements HttpPipelines {
        @Override
        public void initHttp1(ChannelPipeline pipeline, boolean https) {
            throw new IllegalStateException("broken HTTP/1.1 set-up");
        }

        @Override
        public void initHttp2(ChannelPipeline pipeline) {
            throw new IllegalStateException("broken HTTP/2 set-up");
        }
    }

    @BeforeEach
    void start() throws Exception {
        listener = new LoopbackHttpsListener(data, "setup-failure-test", new BrokenHttpSetUp());
        listener.serve(ca.issue("alpha.test"), "alpha.test");
    }

    @AfterEach
    void stop() throws Exception {
        listener.close();
    }

    @Test
    void aFailingHttp1SetUpIsAWarningWithItsStackTrace() throws Exception {
        assertHandshakeThenWarning("http/1.1");
    }

    @Test
    void aFailingHttp2SetUpIsAWarningWithItsStackTrace() throws Exception {
        assertHandshakeThenWarning("h2");
    }

    /** A bug met by every connection: one warning an interval for the listener, the others only counted. */
    @Test
    void threeFailingSetUpsAreOneWarning() throws Exception {
        try (LogCapture log = new LogCapture(HttpsFrontDoor.class, Level.DEBUG)) {
            for (int i = 0; i < 3; i++) {
                try (SSLSocket socket = SniSockets.connect(ca.clientContext(), listener.port(), "alpha.test")) {
                    socket.startHandshake();
                    // closed after the warning or the count
                    assertThat(socket.getInputStream().read()).as("closed after the handshake").isEqualTo(-1);
                }
            }
            assertThat(log.events()).filteredOn(event -> event.getLevel() == Level.WARN)
                    .singleElement()
                    .satisfies(warning -> assertThat(thrown(warning)).isEqualTo(IllegalStateException.class.getName()))
                    .extracting(ILoggingEvent::getFormattedMessage).asString()
                    .contains("unexpected error in the TLS handshake or the HTTP set-up");
        }
    }

    /**
     * Two bugs at once: the HTTP/2 set-up's failures, however many, do not hold back the first warning and stack trace
     * of the HTTP/1.1 set-up's within the interval.
     */
    @Test
    void aFailureOfAnotherKindHasItsOwnWarningWithinTheInterval() throws Exception {
        try (LogCapture log = new LogCapture(HttpsFrontDoor.class, Level.DEBUG)) {
            for (String alpn : new String[] {"h2", "h2", "h2", "http/1.1", "http/1.1"}) {
                handshakeUntilClosed(listener.port(), alpn);
            }
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(log.events())
                    .filteredOn(event -> event.getLevel() == Level.WARN)
                    .extracting(event -> event.getThrowableProxy() == null ? null
                            : event.getThrowableProxy().getMessage())
                    .containsExactly("broken HTTP/2 set-up", "broken HTTP/1.1 set-up"));
        }
    }

    /**
     * Failures of ever new kinds (here each thrown from a place of its own) are warned about for at most
     * {@link HttpsListener#MAX_FAILURE_KINDS} kinds an interval, the others in one line for all of them.
     */
    @Test
    void failuresOfEverNewKindsAreWarnedAboutForBoundedlyManyKinds() throws Exception {
        AtomicInteger kinds = new AtomicInteger();
        HttpPipelines everNewBugs = new HttpPipelines() {
            @Override
            public void initHttp1(ChannelPipeline pipeline, boolean https) {
                int kind = kinds.incrementAndGet();
                IllegalStateException bug = new IllegalStateException("bug " + kind);
                bug.setStackTrace(new StackTraceElement[] {
                        new StackTraceElement("io.picotunnel.Bugs", "bug" + kind, "Bugs.java", kind)});
                throw bug;
            }

            @Override
            public void initHttp2(ChannelPipeline pipeline) {
                initHttp1(pipeline, true);
            }
        };
        int connections = HttpsListener.MAX_FAILURE_KINDS * 2 + 5;
        try (LoopbackHttpsListener many = new LoopbackHttpsListener(data.resolve("many"), "many-kinds-test",
                everNewBugs);
             LogCapture log = new LogCapture(HttpsFrontDoor.class, Level.DEBUG)) {
            many.serve(ca.issue("alpha.test"), "alpha.test");
            for (int i = 0; i < connections; i++) {
                handshakeUntilClosed(many.port(), "http/1.1");
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> kinds.get() == connections);
            assertThat(log.events()).filteredOn(event -> event.getLevel() == Level.WARN)
                    .hasSize(HttpsListener.MAX_FAILURE_KINDS + 1)
                    .allSatisfy(warning -> assertThat(warning.getThrowableProxy()).isNotNull())
                    .last().extracting(ILoggingEvent::getFormattedMessage).asString()
                    .contains("beyond the " + HttpsListener.MAX_FAILURE_KINDS + " tracked at once");
        }
    }

    private void handshakeUntilClosed(int port, String alpn) throws Exception {
        try (SSLSocket socket = SniSockets.connect(ca.clientContext(), port, "alpha.test")) {
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setApplicationProtocols(new String[] {alpn});
            socket.setSSLParameters(parameters);
            socket.startHandshake();
            assertThat(socket.getInputStream().read()).as("closed after the handshake").isEqualTo(-1);
        }
    }

    private void assertHandshakeThenWarning(String alpn) throws Exception {
        try (LogCapture log = new LogCapture(HttpsFrontDoor.class, Level.DEBUG);
             SSLSocket socket = SniSockets.connect(ca.clientContext(), listener.port(), "alpha.test")) {
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setApplicationProtocols(new String[] {alpn});
            socket.setSSLParameters(parameters);
            socket.startHandshake();
            assertThat(socket.getApplicationProtocol()).isEqualTo(alpn);
            assertThat(socket.getInputStream().read()).as("closed after the handshake").isEqualTo(-1);

            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(log.events())
                    .filteredOn(event -> event.getLevel() == Level.WARN)
                    .singleElement()
                    .satisfies(warning -> assertThat(thrown(warning)).isEqualTo(IllegalStateException.class.getName()))
                    .extracting(ILoggingEvent::getFormattedMessage).asString()
                    .contains("unexpected error in the TLS handshake or the HTTP set-up"));
        }
    }

    private static String thrown(ILoggingEvent event) {
        return event.getThrowableProxy() == null ? null : event.getThrowableProxy().getClassName();
    }
}
