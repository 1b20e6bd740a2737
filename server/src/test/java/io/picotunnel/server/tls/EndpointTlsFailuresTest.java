package io.picotunnel.server.tls;

import ch.qos.logback.classic.Level;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLException;
import java.net.InetSocketAddress;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** Each kind of our own failure to serve the tunnel endpoint's TLS is warned about in an interval of its own. */
class EndpointTlsFailuresTest {

    private static final Object REMOTE = InetSocketAddress.createUnresolved("127.0.0.1", 40000);

    private final EndpointTlsFailures failures = new EndpointTlsFailures(
            LoggerFactory.getLogger(TunnelEndpointTls.class), () -> false, Duration.ofSeconds(60), () -> 0L);

    @Test
    void noCertificateDoesNotHoldBackAContextThatCannotBeBuilt() {
        try (LogCapture log = new LogCapture(TunnelEndpointTls.class, Level.DEBUG)) {
            failures.closed(REMOTE, new TunnelEndpointTls.NoCertificate("tunnel.test"));
            failures.closed(REMOTE, new SSLException("cannot build a TLS context from the certificate of tunnel.test"));
            failures.closed(REMOTE, new TunnelEndpointTls.NoCertificate("tunnel.test"));

            assertThat(log.events()).filteredOn(event -> event.getLevel() == Level.WARN).hasSize(2)
                    .satisfiesExactly(
                            first -> assertThat(first.getFormattedMessage()).contains("no certificate for tunnel.test"),
                            second -> {
                                assertThat(second.getFormattedMessage()).contains("cannot build a TLS context");
                                assertThat(second.getThrowableProxy()).as("with its stack trace").isNotNull();
                            });
        }
    }

    /** Plain ws served for want of a certificate is the operator's choice; a certificate that cannot be used is not. */
    @Test
    void withPlainWsAllowedOnlyAContextThatCannotBeBuiltIsAWarning() {
        EndpointTlsFailures plain = new EndpointTlsFailures(LoggerFactory.getLogger(TunnelEndpointTls.class), () -> true,
                Duration.ofSeconds(60), () -> 0L);
        try (LogCapture log = new LogCapture(TunnelEndpointTls.class, Level.DEBUG)) {
            plain.closed(REMOTE, new TunnelEndpointTls.NoCertificate("tunnel.test"));
            plain.closed(REMOTE, new SSLException("cannot build a TLS context from the certificate of tunnel.test"));

            assertThat(log.messages(Level.DEBUG)).singleElement().asString().contains("no certificate for tunnel.test");
            assertThat(log.messages(Level.WARN)).singleElement().asString().contains("cannot build a TLS context");
        }
    }
}
