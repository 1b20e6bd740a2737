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
