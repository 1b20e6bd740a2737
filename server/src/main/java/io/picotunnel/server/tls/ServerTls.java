package io.picotunnel.server.tls;

import io.netty.channel.EventLoopGroup;
import io.picotunnel.server.access.AccessControl;
import io.picotunnel.server.acme.AcmeManager;
import io.picotunnel.server.acme.AcmeSettings;
import io.picotunnel.server.monitor.TrafficCounters;
import io.picotunnel.server.net.ConnectionLimits;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceListener;
import io.picotunnel.server.tunnel.TunnelRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * Everything TLS of one server: the certificate store fed by {@code <data>/certs/} (watched), the operator's
 * certificate for the server's domain, ACME when enabled, the passthrough routes and the HTTPS listener.
 * Built in two steps because the HTTP proxy needs the HTTP-01 answers before the HTTPS listener needs the proxy:
 * {@link #create}, then {@link #startHttps}.
 */
public final class ServerTls implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ServerTls.class);
    static final Duration WATCH_INTERVAL = Duration.ofSeconds(5);

    /** The operator's certificate and key for the server's own domain (PICOTUNNEL_TLS_CERT/KEY). */
    public record DomainFiles(Path certificate, Path privateKey) {
    }

    private final String serverDomain;
    private final CertificateStore store;
    private final CertificateDirectory directory;
    private final PassthroughRoutes passthrough;
    private final AcmeManager acme;
    private final CertificateStatuses statuses;
    private final List<AutoCloseable> running = new ArrayList<>();
    private HttpsListener https;
    private volatile TunnelEndpointTls tunnelEndpointTls;

    private ServerTls(Path dataDir, String serverDomain, AcmeSettings acmeSettings, Clock clock,
                      Function<Service, TrafficCounters> traffic) {
        this.passthrough = new PassthroughRoutes(traffic);
        this.serverDomain = DomainNames.normalize(serverDomain);
        Path certs = dataDir.resolve("certs");
        this.store = new CertificateStore(clock);
        this.directory = new CertificateDirectory(certs, store, clock);
        this.acme = acmeSettings == null ? null : new AcmeManager(acmeSettings, certs, store, serverDomain, clock);
        this.statuses = new CertificateStatuses(store, acme, clock);
    }

    /**
     * Loads the certificates and starts watching {@code <data>/certs/} and, if {@code acmeSettings} is not
     * null, ACME. Throws IOException when the operator's domain certificate cannot be used.
     */
    public static ServerTls create(Path dataDir, String serverDomain, DomainFiles domainFiles, AcmeSettings acmeSettings,
                                   Clock clock) throws IOException {
        return create(dataDir, serverDomain, domainFiles, acmeSettings, clock, service -> TrafficCounters.NONE);
    }

    /** As above; the connections and bytes of passthrough services count in {@code traffic}'s counters. */
    public static ServerTls create(Path dataDir, String serverDomain, DomainFiles domainFiles, AcmeSettings acmeSettings,
                                   Clock clock, Function<Service, TrafficCounters> traffic) throws IOException {
        ServerTls tls = new ServerTls(dataDir, serverDomain, acmeSettings, clock, traffic);
        if (domainFiles != null) {
            if (tls.serverDomain == null) {
                throw new IOException("a TLS certificate for the server's domain is configured, but no domain");
            }
            ServerCertificate certificate = CertificateLoader.load(domainFiles.certificate(), domainFiles.privateKey());
            tls.store.putConfigured(tls.serverDomain, certificate);
            List<String> problems = certificate.problemsFor(tls.serverDomain, clock.instant());
            if (problems.isEmpty()) {
                log.info("certificate for {} loaded from {} (valid until {})", tls.serverDomain,
                        domainFiles.certificate(), certificate.notAfter());
            } else {
                log.warn("certificate for {} loaded from {}, but clients will refuse it: {}{}", tls.serverDomain,
                        domainFiles.certificate(), String.join("; ", problems), CertificateDirectory.GIVES_WAY);
            }
        }
        tls.directory.afterScan(tls::certificatesChanged);
        tls.directory.startWatching(WATCH_INTERVAL);
        tls.running.add(tls.directory);
        if (tls.acme != null) {
            tls.acme.start();
            tls.running.add(tls.acme);
        }
        return tls;
    }

    /** Tells {@code listener} of the certificates ACME obtains or fails to obtain (nothing when ACME is off). */
    public void onCertificateOutcome(io.picotunnel.server.acme.CertificateOutcomes listener) {
        if (acme != null) {
            acme.onOutcome(listener);
        }
    }

    /** The service listeners to register with the store: passthrough routes, and ACME when enabled. */
    public List<ServiceListener> serviceListeners() {
        return acme == null ? List.of(passthrough) : List.of(passthrough, acme);
    }

    /** Every stored service has been told to {@link #serviceListeners()}: ACME forgets the domains none wants. */
    public void servicesLoaded() {
        if (acme != null) {
            acme.servicesLoaded();
        }
    }

    /** ACME HTTP-01 answers by token, for the HTTP proxy. */
    public Function<String, Optional<String>> http01Answers() {
        return acme == null ? token -> Optional.empty() : acme.challenges().http01Function();
    }

    /** Binds the HTTPS listener; the caller closes it (before shutting down {@code group}). */
    public HttpsListener startHttps(InetSocketAddress address, EventLoopGroup group, HttpPipelines http,
                                    TunnelRegistry tunnels) throws IOException {
        return startHttps(address, group, http, tunnels, null, AccessControl.open());
    }

    /** As above; connections over {@code limits} (none when null) are closed at once. */
    public HttpsListener startHttps(InetSocketAddress address, EventLoopGroup group, HttpPipelines http,
                                    TunnelRegistry tunnels, ConnectionLimits limits) throws IOException {
        return startHttps(address, group, http, tunnels, limits, AccessControl.open());
    }

    /** As above; {@code access} checks each passthrough connection against its service's ip_allow and rate_limit. */
    public HttpsListener startHttps(InetSocketAddress address, EventLoopGroup group, HttpPipelines http,
                                    TunnelRegistry tunnels, AccessControl access) throws IOException {
        return startHttps(address, group, http, tunnels, null, access);
    }

    /**
     * As above: connections over {@code limits} (none when null) are closed at once, and {@code access} checks each
     * passthrough connection against its service's ip_allow and rate_limit.
     */
    public HttpsListener startHttps(InetSocketAddress address, EventLoopGroup group, HttpPipelines http,
                                    TunnelRegistry tunnels, ConnectionLimits limits, AccessControl access)
            throws IOException {
        TlsAlpnChallenges challenges = acme == null ? TlsAlpnChallenges.NONE : acme.challenges();
        https = new HttpsListener(address, group, new HttpsRouter(store, passthrough, challenges, serverDomain), http,
                new TunnelPassthrough(tunnels, access), limits, access);
        https.start();
        return https;
    }

    /**
     * Whether TLS for {@code name} goes untouched to a passthrough service: its domain, or a wildcard over it when no
     * http service that terminates TLS has the name itself.
     */
    public boolean passedThrough(String name) {
        return passthrough.lookup(name).isPresent();
    }

    /** The HTTPS listener's port as bound. */
    public int httpsPort() {
        return https.port();
    }

    /**
     * TLS for the tunnel endpoint when the server has a domain; empty means plain ws only. With no certificate for the
     * domain yet and no ACME to obtain one, plain ws is allowed too until the next restart: a certificate file dropped
     * into {@code <data>/certs/} later serves wss at once.
     */
    public Optional<TunnelEndpointTls> tunnelEndpointTls() {
        if (serverDomain == null) {
            return Optional.empty();
        }
        return Optional.of(published(new TunnelEndpointTls(store, serverDomain, plainWsAllowed())));
    }

    /** Whether the tunnel endpoint starting now serves plain ws too: no certificate for the domain, and no ACME. */
    boolean plainWsAllowed() {
        return store.select(serverDomain).isEmpty() && acme == null;
    }

    /**
     * {@code endpointTls} is told of the directory's scans from now on, and of the last one now: a scan that read the
     * domain's certificate after {@link #plainWsAllowed} found none, and ended before this, told no endpoint, and the
     * INFO that wss is served would wait for the next scan.
     */
    TunnelEndpointTls published(TunnelEndpointTls endpointTls) {
        tunnelEndpointTls = endpointTls;
        endpointTls.certificatesChanged();
        return endpointTls;
    }

    /** The watched {@code <data>/certs/}. */
    CertificateDirectory certificateDirectory() {
        return directory;
    }

    private void certificatesChanged() {
        TunnelEndpointTls endpointTls = tunnelEndpointTls;
        if (endpointTls != null) {
            endpointTls.certificatesChanged();
        }
    }

    /** The certificate fields of a service for the API. */
    public CertificateStatus certificateStatus(Service service) {
        return statuses.of(service);
    }

    public CertificateStore store() {
        return store;
    }

    /**
     * Stops ACME's orders and renewals (one under way is given up, with no retry delay for the next start, once past
     * validation after up to 5 s for its certificate to be saved). Before
     * the listeners that answer its challenges close: an order left running would fail at the CA and be kept as a
     * failure.
     */
    public void stopAcme() {
        if (acme != null) {
            acme.close();
        }
    }

    @Override
    public void close() {
        for (int i = running.size() - 1; i >= 0; i--) {
            try {
                running.get(i).close();
            } catch (Exception e) {
                log.warn("stopping {} failed: {}", running.get(i).getClass().getSimpleName(), e.toString());
            }
        }
        running.clear();
    }
}
