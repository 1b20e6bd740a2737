package io.picotunnel.server.tls;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.UnsynchronizedAppenderBase;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The INFO that the tunnel endpoint serves wss now, where plain ws is allowed, comes with the scan that read the
 * certificate: also when that scan ends while the endpoint's TLS is built (no certificate when plain ws was decided,
 * the endpoint not yet there to be told), not a scan later. The start-up line that follows says what is served then.
 */
class TunnelEndpointCertificateToldTest {

    private static final String WSS_NOW = "INFO Tunnel endpoint now serves wss with the certificate of tunnel.test; plain"
            + " ws is still served to clients set up with ws:// until the next restart, after which only wss is";
    private static final String STARTED_WITH_WSS = "INFO Tunnel endpoint on wss://127.0.0.1:7000/tunnel (certificate of"
            + " tunnel.test), and on ws:// for clients set up with it until the next restart";

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

    /**
     * A certificate read while the endpoint starts, after plain ws was allowed and before its start-up line: the line
     * says wss (and ws until the next restart), not the WARN that the domain has no certificate yet after the INFO that
     * wss is served now.
     */
    @Test
    void theStartLineAfterACertificateReadWhileTheEndpointStartsSaysWss() throws Exception {
        tls = ServerTls.create(data, "tunnel.test", null, null, Clock.systemUTC());
        try (LogCapture log = new LogCapture(TunnelEndpointTls.class, Level.INFO)) {
            TunnelEndpointTls endpointTls = tls.tunnelEndpointTls().orElseThrow();
            assertThat(endpointTls.plainAllowed()).as("no certificate yet, no ACME").isTrue();

            TestCertificates.write(new TestCertificates().issue("tunnel.test"), data.resolve("certs"), "tunnel.test");
            tls.certificateDirectory().scan();
            endpointTls.sayStarted("127.0.0.1:7000", data.resolve("certs"), "set THE SETTINGS");

            assertThat(lines(log)).containsExactly(WSS_NOW, STARTED_WITH_WSS);
        }
    }

    /** With no certificate the start-up line is the WARN saying where to put one, and the certificate read later the INFO. */
    @Test
    void theStartLineWithoutACertificateWarnsBeforeTheCertificateIsTold() throws Exception {
        tls = ServerTls.create(data, "tunnel.test", null, null, Clock.systemUTC());
        try (LogCapture log = new LogCapture(TunnelEndpointTls.class, Level.INFO)) {
            TunnelEndpointTls endpointTls = tls.tunnelEndpointTls().orElseThrow();
            endpointTls.sayStarted("127.0.0.1:7000", data.resolve("certs"), "set THE SETTINGS");
            TestCertificates.write(new TestCertificates().issue("tunnel.test"), data.resolve("certs"), "tunnel.test");
            tls.certificateDirectory().scan();

            assertThat(lines(log)).containsExactly(startedWithoutTls(), WSS_NOW);
        }
    }

    /**
     * A certificate removed after the INFO that wss is served, and put back: the INFO again, as wss is served again
     * from then (the WARN of a TLS handshake that found none meanwhile stays a WARN, see TunnelEndpointOwnFailureLogTest).
     */
    @Test
    void aCertificateRemovedAndPutBackIsToldAgain() throws Exception {
        tls = ServerTls.create(data, "tunnel.test", null, null, Clock.systemUTC());
        Path certs = data.resolve("certs");
        try (LogCapture log = new LogCapture(TunnelEndpointTls.class, Level.INFO)) {
            TunnelEndpointTls endpointTls = tls.tunnelEndpointTls().orElseThrow();
            TestCertificates.write(new TestCertificates().issue("tunnel.test"), certs, "tunnel.test");
            tls.certificateDirectory().scan();
            Files.delete(certs.resolve("tunnel.test.crt"));
            tls.certificateDirectory().scan();
            assertThat(endpointTls.servesTls()).as("the certificate is gone").isFalse();

            TestCertificates.write(new TestCertificates().issue("tunnel.test"), certs, "tunnel.test");
            tls.certificateDirectory().scan();
            tls.certificateDirectory().scan();
            assertThat(lines(log)).containsExactly(WSS_NOW, WSS_NOW);
        }
    }

    /**
     * The start-up line decided (no certificate yet) and a certificate read by a scan before the line is written: the
     * scan's INFO waits for the line, which it follows, as it says what changed since.
     */
    @Test
    void aCertificateReadWhileTheStartLineIsWrittenIsToldAfterIt() throws Exception {
        Path certs = data.resolve("certs");
        EndpointWithoutWatch endpoint = new EndpointWithoutWatch(certs);
        try (RacingLog log = new RacingLog("WARN Tunnel endpoint on ws://", () -> {
            TestCertificates.write(new TestCertificates().issue("tunnel.test"), certs, "tunnel.test");
            endpoint.directory.scan();
        })) {
            endpoint.tls.sayStarted("127.0.0.1:7000", certs, "set THE SETTINGS");
            await().atMost(Duration.ofSeconds(10)).until(() -> log.lines().size() == 2);
            assertThat(log.lines()).containsExactly(startedWithoutTls(), WSS_NOW);
        }
    }

    /**
     * A certificate read by a scan (the INFO decided) and the start-up line decided before the INFO is written: the line
     * waits for the INFO and says wss, which it follows.
     */
    @Test
    void aStartLineDecidedWhileACertificateIsToldFollowsIt() throws Exception {
        Path certs = data.resolve("certs");
        EndpointWithoutWatch endpoint = new EndpointWithoutWatch(certs);
        TestCertificates.write(new TestCertificates().issue("tunnel.test"), certs, "tunnel.test");
        try (RacingLog log = new RacingLog("INFO Tunnel endpoint now serves wss",
                () -> endpoint.tls.sayStarted("127.0.0.1:7000", certs, "set THE SETTINGS"))) {
            endpoint.directory.scan();
            await().atMost(Duration.ofSeconds(10)).until(() -> log.lines().size() == 2);
            assertThat(log.lines()).containsExactly(WSS_NOW, STARTED_WITH_WSS);
        }
    }

    private String startedWithoutTls() {
        return "WARN Tunnel endpoint on ws://127.0.0.1:7000/tunnel WITHOUT TLS for now: tunnel.test has no certificate"
                + " yet. Put one in " + data.resolve("certs") + " (served as wss at once, ws still served until the next"
                + " restart), set THE SETTINGS.";
    }

    /** As {@link ServerTls} wires them, plain ws allowed, with no watch: the test's scans are the only ones. */
    private static final class EndpointWithoutWatch {
        final CertificateStore store = new CertificateStore();
        final CertificateDirectory directory;
        final TunnelEndpointTls tls = new TunnelEndpointTls(store, "tunnel.test", true);

        EndpointWithoutWatch(Path certs) {
            directory = new CertificateDirectory(certs, store);
            directory.afterScan(tls::certificatesChanged);
        }
    }

    /**
     * The lines of {@link TunnelEndpointTls}, kept in the order they are written. The thread that writes the first line
     * starting with {@code pausesAt} has decided it, under the endpoint's saying lock; before the line is kept, it runs
     * {@code meanwhile} on another thread and waits until that thread has ended or waits for the lock. Without the lock,
     * what {@code meanwhile} logs comes before the paused line.
     */
    private static final class RacingLog extends UnsynchronizedAppenderBase<ILoggingEvent> implements AutoCloseable {
        private final Logger logger = (Logger) LoggerFactory.getLogger(TunnelEndpointTls.class);
        private final Level levelBefore = logger.getLevel();
        private final List<String> lines = new CopyOnWriteArrayList<>();
        private final AtomicBoolean paused = new AtomicBoolean();
        private final String pausesAt;
        private final Executable meanwhile;

        RacingLog(String pausesAt, Executable meanwhile) {
            this.pausesAt = pausesAt;
            this.meanwhile = meanwhile;
            logger.setLevel(Level.INFO);
            start();
            logger.addAppender(this);
        }

        @Override
        protected void append(ILoggingEvent event) {
            String line = event.getLevel() + " " + event.getFormattedMessage();
            if (line.startsWith(pausesAt) && paused.compareAndSet(false, true)) {
                Thread other = Thread.ofPlatform().name("racing-" + pausesAt).start(() -> {
                    try {
                        meanwhile.execute();
                    } catch (Throwable e) {
                        lines.add("the other thread failed: " + e);
                    }
                });
                await().atMost(Duration.ofSeconds(10)).until(() -> !other.isAlive() || waitsForTheSayingLock(other));
            }
            lines.add(line);
        }

        private static boolean waitsForTheSayingLock(Thread thread) {
            StackTraceElement[] stack = thread.getStackTrace();
            return thread.getState() == Thread.State.BLOCKED && stack.length > 0
                    && stack[0].getClassName().equals(TunnelEndpointTls.class.getName());
        }

        List<String> lines() {
            return List.copyOf(lines);
        }

        @Override
        public void close() {
            logger.detachAppender(this);
            stop();
            logger.setLevel(levelBefore);
        }
    }

    private static List<String> lines(LogCapture log) {
        return log.events().stream().map(event -> event.getLevel() + " " + event.getFormattedMessage()).toList();
    }
}
