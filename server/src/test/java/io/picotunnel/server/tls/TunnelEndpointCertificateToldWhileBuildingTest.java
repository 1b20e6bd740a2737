package io.picotunnel.server.tls;

import ch.qos.logback.classic.Level;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/** The scan's word that wss is served now does not wait for an event loop building the endpoint's context. */
class TunnelEndpointCertificateToldWhileBuildingTest {

    @TempDir
    Path data;

    @Test
    void wssIsSaidWhileAnEventLoopHoldsTheBuildLock() throws Exception {
        TestCertificates.write(new TestCertificates().issue("tunnel.test"), data, "tunnel.test");
        CertificateStore store = new CertificateStore();
        store.putFromFile("tunnel.test",
                CertificateLoader.load(data.resolve("tunnel.test.crt"), data.resolve("tunnel.test.key")));
        TunnelEndpointTls tls = new TunnelEndpointTls(store, "tunnel.test", true);
        CountDownLatch locked = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        // as built() holds it while an event loop builds an OpenSSL context
        Thread building = Thread.ofPlatform().daemon().start(() -> {
            synchronized (tls) {
                locked.countDown();
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        try (LogCapture log = new LogCapture(TunnelEndpointTls.class, Level.INFO)) {
            assertThat(locked.await(10, TimeUnit.SECONDS)).isTrue();
            assertTimeoutPreemptively(Duration.ofSeconds(5), tls::certificatesChanged);
            tls.certificatesChanged();
            assertThat(log.messages(Level.INFO)).singleElement().asString()
                    .startsWith("Tunnel endpoint now serves wss with the certificate of tunnel.test");
        } finally {
            release.countDown();
            building.join(10_000);
        }
    }
}
