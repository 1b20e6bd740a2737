package io.picotunnel.server.tls;

import io.picotunnel.server.net.RefusalLog;
import org.slf4j.Logger;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Our own failures to serve the tunnel endpoint's TLS, each kind warned about once an interval for the endpoint, in an
 * interval of its own: a connection that met no certificate does not hold back, for the rest of the interval, the
 * stack trace of a certificate no TLS context can be built from. Thread-safe.
 */
final class EndpointTlsFailures {

    private final Logger log;
    private final BooleanSupplier noCertificateChosen;
    private final RefusalLog noCertificate;
    private final RefusalLog cannotBuild;

    /**
     * {@code noCertificateChosen}: whether the endpoint serves plain ws for want of a certificate, as the operator chose
     * (no file, no ACME), and no certificate came since: a ClientHello meeting none (a scanner's, mostly) is no news
     * then, a debug line, not a warning a minute to add a certificate they chose not to have. Once one came (and the
     * operator was told to move clients to wss), a ClientHello meeting none is a wss client left without: a warning.
     */
    EndpointTlsFailures(Logger log, BooleanSupplier noCertificateChosen) {
        this(log, noCertificateChosen, RefusalLog.DEFAULT_INTERVAL, System::nanoTime);
    }

    /** With the clock read for the intervals ({@link System#nanoTime} but in tests). */
    EndpointTlsFailures(Logger log, BooleanSupplier noCertificateChosen, Duration interval, LongSupplier nanoTime) {
        this.log = log;
        this.noCertificateChosen = noCertificateChosen;
        this.noCertificate = new RefusalLog(log, interval, nanoTime);
        this.cannotBuild = new RefusalLog(log, interval, nanoTime);
    }

    /** The connection from {@code remote} is closed for want of a TLS context: {@code cause} says why. */
    void closed(Object remote, Throwable cause) {
        Supplier<String> line = () -> "tunnel endpoint closed the TLS connection from " + remote + ": "
                + cause.getMessage();
        if (cause instanceof TunnelEndpointTls.NoCertificate && noCertificateChosen.getAsBoolean()) {
            log.debug(line.get());
        } else if (cause instanceof TunnelEndpointTls.NoCertificate) {
            noCertificate.refused(true, line);
        } else {
            cannotBuild.failed(line, cause);
        }
    }
}
