package io.picotunnel.server.tls;

import ch.qos.logback.classic.Level;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The INFO that the tunnel endpoint serves wss now, where plain ws is allowed, comes with the scan that read the
 * certificate: also when that scan ends while the endpoint's TLS is built (no certificate when plain ws was decided,
 * the endpoint not yet there to be told), not a scan later.
 */
class TunnelEndpointCertificateToldTest {

    @TempDir
    Path data;

    private ServerTls tls;

    @AfterEach
    void stop() {
        if (tls != null) {
            tls.close();
        }
    }

    /** {@link ServerTls#tunnelEndpointTls()}'s steps, in turn, with a scan that finds the certificate between them. */
    @Test
    void aCertificateReadWhileTheEndpointTlsIsBuiltIsToldAtOnce() throws Exception {
        tls = ServerTls.create(data, "tunnel.test", null, null, Clock.systemUTC());
        try (LogCapture log = new LogCapture(TunnelEndpointTls.class, Level.INFO)) {
            boolean plainAllowed = tls.plainWsAllowed();
            assertThat(plainAllowed).as("no certificate yet, no ACME").isTrue();

            TestCertificates.write(new TestCertificates().issue("tunnel.test"), data.resolve("certs"), "tunnel.test");
            tls.certificateDirectory().scan();
            tls.published(new TunnelEndpointTls(tls.store(), "tunnel.test", plainAllowed));

            assertThat(log.messages(Level.INFO)).singleElement().asString()
                    .contains("now serves wss with the certificate of tunnel.test");

            tls.certificateDirectory().scan();
            assertThat(log.messages(Level.INFO)).as("said once").hasSize(1);
        }
    }
}
