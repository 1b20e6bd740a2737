package io.picotunnel.server.tls;

import ch.qos.logback.classic.Level;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.util.AsyncMapping;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.picotunnel.testkit.ClientHellos;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A failed lookup of the tunnel endpoint's TLS context is made once per connection: the ClientHello left in the
 * decoder is not read again when the connection closes, so the lookup (a TLS context build, maybe) does not run again,
 * and the warning's count of the failures not logged is of connections.
 */
class EndpointSniHandlerFailedLookupTest {

    private static final Duration INTERVAL = Duration.ofSeconds(60);

    private final AtomicLong now = new AtomicLong();
    private final AtomicInteger lookups = new AtomicInteger();
    private final EndpointTlsFailures ownFailures = new EndpointTlsFailures(
            LoggerFactory.getLogger(TunnelEndpointTls.class), () -> false, INTERVAL, now::get);

    @Test
    void aFailedLookupRunsOncePerConnectionAndTheWarningCountsConnections() {
        try (LogCapture log = new LogCapture(TunnelEndpointTls.class, Level.DEBUG)) {
            for (int i = 0; i < 3; i++) {
                connectAndClose();
            }
            assertThat(lookups).as("one lookup per connection").hasValue(3);
            assertThat(log.messages(Level.WARN)).singleElement().asString().contains("no certificate for tunnel.test");

            now.addAndGet(INTERVAL.toNanos() + 1);
            connectAndClose();

            assertThat(lookups).hasValue(4);
            assertThat(log.messages(Level.WARN)).hasSize(2).last().asString()
                    .contains("no certificate for tunnel.test", "(2 more like this not logged");
        }
    }

    /** A ClientHello into a new connection, then its close. */
    private void connectAndClose() {
        EmbeddedChannel channel = new EmbeddedChannel(new TunnelEndpointTls.EndpointSniHandler(Duration.ZERO,
                ownFailures, new NoCertificateYet()));
        channel.writeInbound(Unpooled.wrappedBuffer(ClientHellos.record("tunnel.test")));
        channel.close();
        channel.finishAndReleaseAll();
    }

    /** Counts its lookups, each failing as for a domain with no certificate yet. */
    private final class NoCertificateYet implements AsyncMapping<String, SslContext> {
        @Override
        public Future<SslContext> map(String input, Promise<SslContext> promise) {
            lookups.incrementAndGet();
            return promise.setFailure(new TunnelEndpointTls.NoCertificate("tunnel.test"));
        }
    }
}
