package io.picotunnel.server.tls;

import ch.qos.logback.classic.Level;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.server.tunnel.TunnelEndpoint;
import io.picotunnel.server.tunnel.TunnelEndpointConfig;
import io.picotunnel.server.tunnel.TunnelRegistry;
import io.picotunnel.server.tunnel.TunnelTokens;
import io.picotunnel.testkit.ClientHellos;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import javax.net.ssl.SSLSocket;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A failure of our own before the tunnel endpoint's TLS handshake (here: wss only, and no certificate for the domain)
 * is a warning that says what is missing, one an interval however many clients meet it; the peer's stay debug lines.
 */
class TunnelEndpointOwnFailureLogTest {

    private EventLoopGroup group;
    private TunnelEndpointTls tls;
    private TunnelEndpoint endpoint;
    private int port;

    @BeforeEach
    void startGroup() {
        group = Transport.newEventLoopGroup(1, "endpoint-own-failure-test");
    }

    /** An endpoint for tunnel.test, which has no certificate; {@code plainAllowed}: it serves plain ws too. */
    private void start(boolean plainAllowed) throws IOException {
        start(new CertificateStore(), plainAllowed);
    }

    private void start(CertificateStore store, boolean plainAllowed) throws IOException {
        start(new TunnelEndpointTls(store, "tunnel.test", plainAllowed));
    }

    private void start(TunnelEndpointTls tls) throws IOException {
        this.tls = tls;
        endpoint = new TunnelEndpoint(TunnelEndpointConfig.defaults(),
                TunnelTokens.of(token -> Optional.empty(), id -> Optional.empty()), new TunnelRegistry(),
                group, group, tls::newConnectionHandler);
        port = endpoint.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).getPort();
    }

    @AfterEach
    void stop() {
        if (endpoint != null) {
            endpoint.close();
        }
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Test
    void clientHellosWithNoCertificateToServeAreOneWarningSayingWhatIsMissing() throws Exception {
        start(false);
        try (LogCapture log = new LogCapture(TunnelEndpointTls.class, Level.DEBUG)) {
            for (int i = 0; i < 3; i++) {
                sendUntilClosed(ClientHellos.record("tunnel.test"));
            }
            assertThat(log.messages(Level.WARN)).as("one warning for three connections").singleElement().asString()
                    .contains("closed the TLS connection from /127.0.0.1", "no certificate for tunnel.test yet");
        }
    }

    /**
     * A certificate no TLS context can be built from (here with no key, which Netty's builder refuses with an unchecked
     * exception): a warning with the stack trace (and the connection closed), not a debug line for the peer's failure.
     */
    @Test
    void aCertificateNoContextCanBeBuiltFromIsAWarningWithTheStackTrace() throws Exception {
        CertificateStore store = new CertificateStore();
        store.putConfigured("tunnel.test",
                new ServerCertificate(new TestCertificates().issue("tunnel.test").chain(), null, null, "test"));
        start(store, false);
        try (LogCapture log = new LogCapture(TunnelEndpointTls.class, Level.DEBUG)) {
            sendUntilClosed(ClientHellos.record("tunnel.test"));
            assertThat(log.events()).filteredOn(event -> event.getLevel() == Level.WARN).singleElement()
                    .satisfies(event -> {
                        assertThat(event.getFormattedMessage()).contains("closed the TLS connection from /127.0.0.1",
                                "cannot build a TLS context from the certificate of tunnel.test");
                        assertThat(event.getThrowableProxy()).as("the stack trace").isNotNull();
                    });
        }
    }

    /**
     * A build that fails for a passing reason (native memory, a native library not linked) is tried again, once per
     * {@link TunnelEndpointTls#REBUILD_INTERVAL} at most: the clients in between get the failure kept, no build each.
     * An OutOfMemoryError (Netty's OutOfDirectMemoryError under direct memory pressure, the very case the retry is for)
     * is our failure too: one build and one warning within the interval, not the peer's debug line and a build for each
     * connection.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("passingBuildFailures")
    void aFailedContextBuildIsTriedAgainAfterTheRebuildInterval(Error failure) throws Exception {
        TestCertificates ca = new TestCertificates();
        TestCertificates.Issued issued = ca.issue("tunnel.test");
        CertificateStore store = new CertificateStore();
        store.putConfigured("tunnel.test",
                new ServerCertificate(issued.chain(), issued.keyPair().getPrivate(), null, "test"));
        AtomicInteger builds = new AtomicInteger();
        AtomicLong now = new AtomicLong();
        start(new TunnelEndpointTls(store, "tunnel.test", false, (key, chain) -> {
            if (builds.incrementAndGet() == 1) {
                throw failure;
            }
            return TlsContexts.forTunnelEndpoint(key, chain);
        }, now::get));
        try (LogCapture log = new LogCapture(TunnelEndpointTls.class, Level.DEBUG)) {
            for (int i = 0; i < 5; i++) {
                sendUntilClosed(ClientHellos.record("tunnel.test"));
            }
            assertThat(builds).as("builds within the interval").hasValue(1);
            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .contains("cannot build a TLS context from the certificate of tunnel.test");

            now.addAndGet(TunnelEndpointTls.REBUILD_INTERVAL.toNanos());
            try (SSLSocket client = SniSockets.connect(ca.clientContext(), port, "tunnel.test")) {
                client.startHandshake();
                assertThat(client.getSession().getPeerCertificates()[0]).isEqualTo(issued.chain().get(0));
            }
            assertThat(builds).as("builds after the interval").hasValue(2);
        }
    }

    static Stream<Error> passingBuildFailures() {
        return Stream.of(new UnsatisfiedLinkError("test: the native TLS library failed this once"),
                new OutOfMemoryError("test"));
    }

    /** Any other error from the build is ours too: a warning, not the debug line of a peer's failure. */
    @Test
    void anyErrorFromAContextBuildIsAWarning() throws Exception {
        TestCertificates.Issued issued = new TestCertificates().issue("tunnel.test");
        CertificateStore store = new CertificateStore();
        store.putConfigured("tunnel.test",
                new ServerCertificate(issued.chain(), issued.keyPair().getPrivate(), null, "test"));
        start(new TunnelEndpointTls(store, "tunnel.test", false, (key, chain) -> {
            throw new InternalError("test: the JVM failed this build");
        }, System::nanoTime));
        try (LogCapture log = new LogCapture(TunnelEndpointTls.class, Level.DEBUG)) {
            sendUntilClosed(ClientHellos.record("tunnel.test"));
            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .contains("closed the TLS connection from /127.0.0.1", "the JVM failed this build");
        }
    }

    /**
     * Serving plain ws, for want of a certificate, is what the operator chose: a scanner's ClientHello is no news to
     * them, a debug line, not a warning a minute to add a certificate.
     */
    @Test
    void withPlainWsAllowedAClientHelloWithNoCertificateToServeIsADebugLine() throws Exception {
        start(true);
        try (LogCapture log = new LogCapture(TunnelEndpointTls.class, Level.DEBUG)) {
            sendUntilClosed(ClientHellos.record("tunnel.test"));
            assertThat(log.messages(Level.DEBUG)).singleElement().asString()
                    .contains("closed the TLS connection from /127.0.0.1", "no certificate for tunnel.test yet");
            assertThat(log.messages(Level.WARN)).isEmpty();
        }
    }

    /**
     * Once a certificate came (and the INFO told the operator to move clients to wss), a certificate file removed
     * after it leaves wss clients with none: a warning, though plain ws is still served.
     */
    @Test
    void withPlainWsAllowedACertificateRemovedAfterItCameIsAWarning() throws Exception {
        CertificateStore store = new CertificateStore();
        start(store, true);
        TestCertificates.Issued issued = new TestCertificates().issue("tunnel.test");
        store.putFromFile("tunnel.test",
                new ServerCertificate(issued.chain(), issued.keyPair().getPrivate(), null, "test"));
        tls.certificatesChanged();
        store.removeFromFile("tunnel.test");
        // as the scan that found the file gone does: wss is no longer served, and is said again once it is
        tls.certificatesChanged();
        try (LogCapture log = new LogCapture(TunnelEndpointTls.class, Level.DEBUG)) {
            sendUntilClosed(ClientHellos.record("tunnel.test"));
            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .contains("closed the TLS connection from /127.0.0.1", "no certificate for tunnel.test yet");
        }
    }

    /** A ClientHello declared over the limit (32 KiB): the peer's doing, a debug line even with no certificate. */
    @Test
    void aClientHelloOverTheLimitStaysADebugLine() throws Exception {
        start(false);
        try (LogCapture log = new LogCapture(TunnelEndpointTls.class, Level.DEBUG)) {
            sendUntilClosed(new byte[] {0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x01, 0x00, 0x00});
            // written once the connection is closed
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(log.messages(Level.DEBUG))
                    .singleElement().asString().contains("ClientHello length exceeds"));
            assertThat(log.messages(Level.WARN)).isEmpty();
        }
    }

    /** Sends {@code bytes} and reads until the endpoint closes the connection (the read times out after 10 s). */
    private void sendUntilClosed(byte[] bytes) throws IOException {
        try (Socket raw = new Socket()) {
            raw.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 10_000);
            raw.setSoTimeout(10_000);
            raw.getOutputStream().write(bytes);
            for (int i = 0; i < 100 && raw.getInputStream().read() != -1; i++) {
                // until the close
            }
        }
    }
}
