package io.picotunnel.server;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.config.LogSettings;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.yamux.TotalBufferBudget;
import io.picotunnel.server.access.AccessControl;
import io.picotunnel.server.access.ServiceAuth;
import io.picotunnel.server.access.ServiceSignIn;
import io.picotunnel.server.access.TrustedProxies;
import io.picotunnel.server.acme.AcmeSettings;
import io.picotunnel.server.api.ApiServer;
import io.picotunnel.server.api.ServiceActivity;
import io.picotunnel.server.auth.AdminToken;
import io.picotunnel.server.auth.AuthSettings;
import io.picotunnel.server.auth.ManagementAuth;
import io.picotunnel.server.auth.OidcSettings;
import io.picotunnel.server.auth.SessionStore;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.net.AffinityEventLoopGroup;
import io.picotunnel.server.net.ConnectionLimits;
import io.picotunnel.server.net.HostPort;
import io.picotunnel.server.net.SocketAddresses;
import io.picotunnel.server.events.EventLog;
import io.picotunnel.server.monitor.CheckStore;
import io.picotunnel.server.monitor.Metrics;
import io.picotunnel.server.monitor.Monitor;
import io.picotunnel.server.monitor.MonitorApi;
import io.picotunnel.server.monitor.Traffic;
import io.picotunnel.server.proxy.http.HttpListener;
import io.picotunnel.server.proxy.http.BodyCopyBudget;
import io.picotunnel.server.proxy.http.HttpProxy;
import io.picotunnel.server.proxy.http.HttpRoutes;
import io.picotunnel.server.proxy.http.TunnelUpstream;
import io.picotunnel.server.proxy.tcp.TcpServices;
import io.picotunnel.server.store.Restore;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceConflictException;
import io.picotunnel.server.store.ServiceListener;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.Store;
import io.picotunnel.server.store.StoreException;
import io.picotunnel.server.tls.HttpPipelines;
import io.picotunnel.server.tls.HttpsListener;
import io.picotunnel.server.tls.ServerTls;
import io.picotunnel.server.tls.TunnelEndpointTls;
import io.picotunnel.server.tunnel.TunnelEndpoint;
import io.picotunnel.server.tunnel.TunnelEndpointConfig;
import io.picotunnel.server.tunnel.TunnelRegistry;
import io.picotunnel.server.tunnel.TunnelTokens;
import io.picotunnel.server.ui.UiAssets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The PicoTunnel server: the store, the registry of connected tunnel clients, and the listeners of the management
 * API, tunnel endpoint and proxies, started together and stopped together.
 *
 * <pre>{@code
 * PicoTunnelServer server = PicoTunnelServer.start(ServerConfig.ephemeral(dataDir));
 * int apiPort = server.apiPort();
 * ...
 * server.stop();
 * }</pre>
 *
 * Components that follow the services (TCP listeners, HTTP routes, certificates) are {@link ServiceListener}s: each is
 * told of every stored service at start-up and of every change afterwards.
 */
public final class PicoTunnelServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(PicoTunnelServer.class);
    /** Netty's own setting {@code io.netty.eventLoopThreads} still wins, as it would for Netty's default group. */
    private static final int IO_THREADS =
            Integer.getInteger("io.netty.eventLoopThreads", Runtime.getRuntime().availableProcessors());

    private final ServerConfig config;
    private final Deque<Running> running = new ArrayDeque<>();
    private final List<ServiceListener> serviceListeners = new ArrayList<>();
    private Store store;
    private TunnelRegistry registry;
    private EventLoopGroup eventLoops;
    private TcpServices tcpServices;
    /** Volatile: {@link #stopNow} reads it on a signal's thread. */
    private volatile TunnelEndpoint tunnelEndpoint;
    /** The tunnel endpoint's TLS; null while it speaks plain ws only. */
    private volatile TunnelEndpointTls tunnelEndpointTls;
    private String adminToken;
    private AdminToken.Resolved resolvedToken;
    private ApiServer api;
    private ServerTls tls;
    private HttpListener httpListener;
    private HttpProxy httpProxy;
    private TunnelUpstream tunnelUpstream;
    private HttpsListener httpsListener;
    private AccessControl access;
    /** The services' single sign-on; null without an OIDC provider. */
    private ServiceSignIn serviceSignIn;
    private EventLog events;
    private CheckStore checks;
    private Monitor monitor;
    private Traffic traffic;
    private Metrics metrics;
    /** The tcp services as the store tells them of changes: allowed ports only, failures recorded as events. */
    private ServiceListener tcpServiceChanges;
    private HttpRoutes httpRoutes;
    private boolean stopped;

    private PicoTunnelServer(ServerConfig config) {
        this.config = config;
    }

    /**
     * Starts a server; {@code extraListeners} are told of service changes besides the server's own components
     * (for embedding and tests). Throws {@link StartupException} with a sentence for the operator when it cannot
     * start; whatever was started by then is stopped again.
     */
    public static PicoTunnelServer start(ServerConfig config, ServiceListener... extraListeners) {
        return start(config, System.out, extraListeners);
    }

    /** As {@link #start(ServerConfig, ServiceListener...)}, printing a newly generated admin token to {@code console}. */
    public static PicoTunnelServer start(ServerConfig config, PrintStream console, ServiceListener... extraListeners) {
        PicoTunnelServer server = new PicoTunnelServer(config);
        try {
            server.startComponents(List.of(extraListeners));
        } catch (RuntimeException e) {
            server.stop();
            server.forgetGeneratedToken();
            throw e;
        }
        server.showGeneratedToken(console);
        return server;
    }

    private void startComponents(List<ServiceListener> extraListeners) {
        config.asciiHosts().forEach(log::info);
        running(DataDirectoryLock.acquire(DataDirectory.prepare(config.dataDir())));
        // Under the lock: a restore running now would have refused this start, so any copy of one is left over.
        Restore.removeUnfinished(config.dataDir().toAbsolutePath());
        store = running(openStore());
        adminToken = resolveAdminToken();
        registry = new TunnelRegistry();
        events = running(new EventLog(store.database(), Clock.systemUTC(), config.monitoring().maxEvents()));
        registry.addClientListener(events);
        checks = new CheckStore(store.database());
        traffic = running(new Traffic(store));
        metrics = running(new Metrics(registry));
        traffic.exportTo(metrics);
        // One group for the tunnel endpoint, the tcp services and the HTTP(S) proxy, one loop per core: a proxied
        // request then often stays on its tunnel's loop, and fewer idle loops mean fewer wake-ups between them
        // (the profile's top item with a group of twice the cores for each).
        EventLoopGroup loops = Transport.newEventLoopGroup(IO_THREADS, "picotunnel-io");
        eventLoops = loops;
        running("the event loops", () -> loops.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly());
        access = running(new AccessControl(new TrustedProxies(config.trustedProxies(), config.proxyProtocol())));
        tcpServices = running(new TcpServices(registry, access, loops, loops, traffic::service,
                TcpServices.DEFAULT_RETRY_INTERVAL, config.limits().maxConnections(),
                config.limits().maxConnectionsPerAddress()));

        tls = running(startTls());
        tls.onCertificateOutcome(new CertificateEvents(events, store));
        httpRoutes = new HttpRoutes();

        // Components that follow the services (TCP listeners, HTTP routes, certificates) join serviceListeners
        // here; each then hears of every stored service, and of every change through the store from now on.
        // Traffic first: a service's counters exist before any listener or route that counts in them.
        serviceListeners.add(traffic);
        tcpServiceChanges = new ListenFailures(allowedTcpPortsOnly(tcpServices), events);
        serviceListeners.add(tcpServiceChanges);
        serviceListeners.add(httpRoutes);
        serviceListeners.addAll(tls.serviceListeners());
        serviceListeners.addAll(extraListeners);
        for (ServiceListener listener : serviceListeners) {
            store.addServiceListener(listener);
            replayStoredServices(listener);
        }
        tls.servicesLoaded();
        warnOfServicesOpenToEveryProviderUser();

        startWebProxies(httpRoutes);
        tunnelEndpoint = running(startTunnelEndpoint());
        api = running(startApi());
        monitor = running(new Monitor(config.monitoring(), store, registry, checks, events, Clock.systemUTC()));
        monitor.exportTo(metrics);
        monitor.start();
        log.info("PicoTunnel {} management API on {}", Version.get(), displayAddress(config.listenAddr(), apiPort()));
    }

    private Store openStore() {
        try {
            return Store.open(config.dataDir());
        } catch (StoreException e) {
            throw new StartupException(e.getMessage() + (e.getMessage().endsWith(".") ? "" : "."), e, e.unusable());
        }
    }

    private String resolveAdminToken() {
        if (config.authDisabled()) {
            log.warn("API AUTHENTICATION IS OFF (PICOTUNNEL_AUTH=none): anyone who can reach {} can manage every tunnel."
                    + " Use this only on a trusted network.", config.listenAddr());
            return null;
        }
        try {
            resolvedToken = AdminToken.resolve(config.adminToken(), config.dataDir());
            return resolvedToken.token();
        } catch (IOException e) {
            throw new StartupException("Cannot read or create the admin token in " + config.dataDir() + " ("
                    + e.getMessage() + "); fix the file or set " + Setting.ADMIN_TOKEN.envVar() + ".", e);
        }
    }

    /** Shows a generated token once, after the server has started, in the log's format ({@link AdminTokenBanner}). */
    private void showGeneratedToken(PrintStream console) {
        if (resolvedToken == null || !resolvedToken.generated()) {
            return;
        }
        AdminTokenBanner.show(console, resolvedToken.token(), resolvedToken.file(), LogSettings.json(),
                Clock.systemUTC());
    }

    /** A token generated by a start that then failed was never shown, so the next start generates and shows one. */
    private void forgetGeneratedToken() {
        if (resolvedToken != null && resolvedToken.generated()) {
            try {
                Files.deleteIfExists(resolvedToken.file());
            } catch (IOException e) {
                log.warn("Could not remove {}: {}", resolvedToken.file(), e.getMessage());
            }
        }
    }

    /**
     * As the UI's {@code PICOTUNNEL_OIDC_ALLOW_ALL}, at every start: with a public provider "every user" is anyone with
     * an account, and services the upgrade to V43 marked so (they had empty allow lists) deserve a second look.
     */
    private void warnOfServicesOpenToEveryProviderUser() {
        for (Service service : store.services()) {
            if (service.access().auth() instanceof ServiceAuth.Oidc oidc && oidc.allowAll()) {
                log.warn("Service {} ({}{}) lets every user of the OIDC provider sign in (\"allow_all\": true); list who"
                        + " may in allowed_emails or allowed_groups if that is not what you want", service.id(),
                        service.domain(), service.pathPrefix());
            }
        }
    }

    /** A service that cannot be published now (its port taken, say) stays stored; the rest of the server starts. */
    private void replayStoredServices(ServiceListener listener) {
        for (Service service : store.services()) {
            try {
                if (listener == tcpServiceChanges) {
                    publishStoredTcp(service);
                } else {
                    listener.onServiceChange(null, service);
                }
            } catch (ServiceConflictException e) {
                log.warn("Service {} ({}) is not active: {}", service.id(), service.type().json(), e.getMessage());
                ListenFailures.record(events, service, e);
            }
        }
    }

    /**
     * A stored service at start-up, for the tcp services: on an allowed port, and a port that cannot be bound
     * leaves it waiting (inactive, tried again periodically) with an event saying why.
     */
    private void publishStoredTcp(Service service) throws ServiceConflictException {
        if (service.type() != ServiceType.TCP) {
            return;
        }
        if (!tcpPortAllowed(service)) {
            warnPortNotAllowed(service);
            return;
        }
        tcpServices.publishStored(service);
        tcpServices.problem(service.id()).ifPresent(problem -> events.record(EventLog.SERVICE_LISTEN_FAILED,
                service.tunnelId(), service.id(), "Service " + service.listenAddr() + " could not listen: " + problem));
    }

    private TunnelEndpoint startTunnelEndpoint() {
        Optional<TunnelEndpointTls> wss = tls.tunnelEndpointTls();
        TunnelEndpoint endpoint = new TunnelEndpoint(TunnelEndpointConfig.of(
                        config.yamux().withTotalBufferBudget(new TotalBufferBudget(config.totalBufferLimit())))
                .withTrustedProxies(access.trustedProxies()),
                TunnelTokens.of(store::findTunnelByToken, store::tunnel), registry,
                eventLoops, eventLoops, wss.<Supplier<ChannelHandler>>map(t -> t::newConnectionHandler).orElse(null),
                wss.map(TunnelEndpointTls::plainAllowed).orElse(false), connectionLimits("tunnel endpoint"));
        try {
            endpoint.start(config.tunnelAddr().toBindAddress());
        } catch (IOException e) {
            endpoint.close();
            throw StartupException.cannotBind(Setting.TUNNEL_ADDR, config.tunnelAddr(), e);
        }
        String where = displayHostPort(config.tunnelAddr(), endpoint.port());
        tunnelEndpointTls = wss.orElse(null);
        if (wss.isEmpty()) {
            log.warn("Tunnel endpoint on ws://{}/tunnel WITHOUT TLS: tunnel tokens cross the network in the clear. Set {}"
                    + " with {}/{} or {}=true to serve wss.", where, Setting.DOMAIN.envVar(), Setting.TLS_CERT.envVar(),
                    Setting.TLS_KEY.envVar(), Setting.ACME_ENABLED.envVar());
        } else {
            wss.get().sayStarted(where, config.dataDir().resolve("certs"), "set " + Setting.TLS_CERT.envVar() + "/"
                    + Setting.TLS_KEY.envVar() + " or " + Setting.ACME_ENABLED.envVar() + "=true");
        }
        config.windowKept().ifPresent(log::info);
        config.sessionBufferLimitAboveTotal().ifPresent(log::warn);
        return endpoint;
    }

    private ServerTls startTls() {
        ServerConfig.Acme acme = config.acme();
        AcmeSettings acmeSettings = acme.enabled()
                ? AcmeSettings.of(acme.email(), acme.directory().toString(), acme.caFile()) : null;
        ServerConfig.TlsFiles files = config.tlsFiles();
        try {
            return ServerTls.create(config.dataDir(), config.domain(),
                    files == null ? null : new ServerTls.DomainFiles(files.certificate(), files.privateKey()),
                    acmeSettings, Clock.systemUTC(), traffic::service);
        } catch (IOException e) {
            throw new StartupException("Cannot use the TLS certificate for " + config.domain() + ": " + e.getMessage()
                    + "; fix " + Setting.TLS_CERT.envVar() + "/" + Setting.TLS_KEY.envVar() + ".", e);
        }
    }

    /** The HTTP and HTTPS listeners of the proxy, on the event loops of the tunnels. */
    private void startWebProxies(HttpRoutes routes) {
        EventLoopGroup loops = eventLoops;
        tunnelUpstream = new TunnelUpstream(registry, config.limits().maxTunnelRequests());
        HttpProxy proxy = HttpProxy.builder()
                .routes(routes)
                .opener(tunnelUpstream)
                .responseTimeout(config.proxyTimeout())
                .headerTimeout(config.limits().headerTimeout())
                .idleTimeout(config.keepaliveTimeout())
                .sendTimeout(config.sendTimeout())
                .http2UploadBudget(config.yamux().sessionBufferLimit())
                .upstreamIdleTimeout(config.upstreamKeepalive().idleTimeout())
                .maxIdleUpstreams(config.upstreamKeepalive().maxIdle())
                .acmeChallenges(tls.http01Answers())
                .passedThrough(tls::passedThrough)
                .httpsPort(config.publicPorts().httpsOr(config.httpsAddr().port() == 0 ? 443 : config.httpsAddr().port()))
                .access(access)
                .traffic(traffic::service)
                .build();
        httpProxy = proxy;
        running("the idle proxied connections", proxy.upstreams());
        metrics.idleUpstreams(proxy.upstreams()::idleCount);
        // Visitors on the loop of the tunnel's client when all clients share one, else spread as usual.
        EventLoopGroup visitorLoops = new AffinityEventLoopGroup(loops, channel -> registry.soleClientLoop());
        try {
            httpsListener = running("the HTTPS listener", tls.startHttps(config.httpsAddr().toBindAddress(), visitorLoops,
                    new HttpPipelines() {
                        @Override
                        public void initHttp1(ChannelPipeline pipeline, boolean https) {
                            proxy.initHttp1(pipeline, https);
                        }

                        @Override
                        public void initHttp2(ChannelPipeline pipeline) {
                            proxy.initHttp2(pipeline);
                        }
                    }, registry, connectionLimits("HTTPS"), access));
        } catch (IOException e) {
            throw StartupException.cannotBind(Setting.HTTPS_ADDR, config.httpsAddr(), e);
        }
        try {
            httpListener = running("the HTTP listener", HttpListener.bind(config.httpAddr().toBindAddress(),
                    visitorLoops, proxy, connectionLimits("HTTP")));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StartupException("Interrupted while starting the HTTP listener.", e);
        } catch (Exception e) {
            throw StartupException.cannotBind(Setting.HTTP_ADDR, config.httpAddr(), e);
        }
        log.info("HTTP proxy on {}, HTTPS on {}", displayHostPort(config.httpAddr(), httpListener.port()),
                displayHostPort(config.httpsAddr(), tls.httpsPort()));
    }

    /**
     * The API takes tcp services only on ports in {@code PICOTUNNEL_TCP_PORTS} and off the server's own listen
     * addresses; one stored before the settings changed stays stored but is not published (a WARN says why), as if
     * disabled. Bound, it would keep the server's own listener, which binds later, from starting.
     */
    private ServiceListener allowedTcpPortsOnly(ServiceListener tcp) {
        return new ServiceListener() {
            @Override
            public void onServiceChange(Service before, Service after) throws ServiceConflictException {
                stage(before, after).stored();
            }

            @Override
            public Staged stage(Service before, Service after) throws ServiceConflictException {
                Service published = tcpPortAllowed(before) ? before : null;
                Service next = tcpPortAllowed(after) ? after : null;
                if (after != null && next == null) {
                    warnPortNotAllowed(after);
                }
                if (published == null && next == null) {
                    return Staged.NOTHING;
                }
                return tcp.stage(published, next);
            }
        };
    }

    private void warnPortNotAllowed(Service service) {
        notPublished(service).ifPresent(why -> log.warn("tcp service {} is not published: {}", service.id(), why));
    }

    private boolean tcpPortAllowed(Service service) {
        return service != null && notPublished(service).isEmpty();
    }

    /** Why a stored tcp service is not published (its address is one the settings no longer let it have), if so. */
    private Optional<String> notPublished(Service service) {
        if (service.type() != ServiceType.TCP) {
            return Optional.empty();
        }
        HostPort listen;
        try {
            listen = HostPort.parse(service.listenAddr(), HostPort.Rules.SERVICE_LISTEN);
        } catch (IllegalArgumentException e) {
            return Optional.empty(); // the tcp listener reports an address it cannot use
        }
        if (!config.limits().tcpPorts().contains(listen.port())) {
            return Optional.of("port " + listen.port() + " is outside " + Setting.TCP_PORTS.envVar() + " ("
                    + config.limits().tcpPorts() + "); change listen_addr to a port in it, or have the operator"
                    + " change the setting");
        }
        for (ApiServer.ReservedAddress own : reservedAddresses()) {
            if (own.address().port() != 0 && own.address().overlapsAsResolved(listen)) {
                return Optional.of(listen + " is taken by the server itself (" + own.setting() + " "
                        + own.address() + "); change listen_addr to another port");
            }
        }
        return Optional.empty();
    }

    /** The server's own listen addresses, which no tcp service may take. */
    private List<ApiServer.ReservedAddress> reservedAddresses() {
        return List.of(
                new ApiServer.ReservedAddress(config.listenAddr(), Setting.LISTEN_ADDR.flag()),
                new ApiServer.ReservedAddress(config.tunnelAddr(), Setting.TUNNEL_ADDR.flag()),
                new ApiServer.ReservedAddress(config.httpAddr(), Setting.HTTP_ADDR.flag()),
                new ApiServer.ReservedAddress(config.httpsAddr(), Setting.HTTPS_ADDR.flag()));
    }

    private ConnectionLimits connectionLimits(String listener) {
        return new ConnectionLimits(listener, config.limits().maxConnections(), config.limits().maxConnectionsPerAddress(),
                access.trustedProxies()::trusts);
    }

    private ApiServer startApi() {
        ManagementAuth auth = new ManagementAuth(authSettings(), new SessionStore(store.database()),
                this::tunnelServerAddress, Clock.systemUTC());
        auth.oidcProvider().ifPresent(provider -> {
            ServiceSignIn signIn = new ServiceSignIn(provider, ServiceSignIn.managementBase(provider),
                    this::signInTarget, auth::clientAddress, System::nanoTime);
            auth.addCallbackHook(signIn);
            access.signIn(signIn);
            serviceSignIn = signIn;
        });
        List<ApiServer.ReservedAddress> reserved = reservedAddresses();
        ApiServer started;
        try {
            started = ApiServer.start(config.listenAddr(), store, registry, auth, new UiAssets(), reserved,
                    tls::certificateStatus, config.limits(), this::serverInfo, this::activity,
                    new MonitorApi(store, checks, events, traffic, metrics, config.monitoring().metricsPublic(),
                            Clock.systemUTC()));
        } catch (RuntimeException e) {
            throw StartupException.cannotBind(Setting.LISTEN_ADDR, config.listenAddr(), e);
        }
        auth.announceSignIn();
        return started;
    }

    /** An enabled http service that signs its visitors in through OIDC, for {@link ServiceSignIn}. */
    private Optional<ServiceSignIn.Target> signInTarget(String serviceId) {
        return store.service(serviceId)
                .filter(service -> service.enabled() && service.access().auth() instanceof ServiceAuth.Oidc)
                .map(service -> new ServiceSignIn.Target(service.id(), service.domain(), service.httpsRedirect(),
                        (ServiceAuth.Oidc) service.access().auth(),
                        listeningAndPublic(httpListener.port(), config.publicPorts().httpOr(httpListener.port())),
                        listeningAndPublic(tls.httpsPort(), config.publicPorts().httpsOr(tls.httpsPort())),
                        tls::passedThrough, port -> tcpServices.listensOn(port, proxyAddressesOn(port))));
    }

    /**
     * The local addresses at which a browser sent to {@code port} of a service's name arrives, as far as the server
     * can tell: the addresses of the proxy's listeners on that port, since the service's names resolve to the proxy
     * (its visitors reach it by them). Empty, not known, when a listener there listens on every address (the
     * wildcard), when a port mapping is declared for it ({@code PICOTUNNEL_PUBLIC_*_PORT}: the names then resolve
     * to the mapping, which the server cannot see into), or when none listens on the port (80 or 443, or a public
     * port, with the proxy elsewhere).
     */
    private Set<InetAddress> proxyAddressesOn(int port) {
        Set<InetAddress> reached = new HashSet<>();
        InetSocketAddress http = httpListener.address();
        InetSocketAddress https = httpsListener.address();
        for (Map.Entry<InetSocketAddress, Integer> listener : Map.of(http, config.publicPorts().httpOr(http.getPort()),
                https, config.publicPorts().httpsOr(https.getPort())).entrySet()) {
            InetSocketAddress bound = listener.getKey();
            if (bound.getPort() != port && listener.getValue() != port) {
                continue;
            }
            if (listener.getValue() != bound.getPort() || bound.getAddress().isAnyLocalAddress()) {
                return Set.of();
            }
            reached.add(bound.getAddress());
        }
        return reached;
    }

    private static Set<Integer> listeningAndPublic(int listening, int published) {
        return listening == published ? Set.of(listening) : Set.of(listening, published);
    }

    private AuthSettings authSettings() {
        OidcSettings oidc = config.oidc() == null ? null : new OidcSettings(config.oidc().issuer(), config.oidc().clientId(),
                config.oidc().clientSecret(), config.oidc().redirectUrl(),
                Set.copyOf(config.oidc().allowedEmails()), Set.copyOf(config.oidc().allowedGroups()), config.oidc().allowAll());
        return new AuthSettings(adminToken, oidc, config.authDisabled(), config.domain(), access.trustedProxies());
    }

    /**
     * What a client passes as {@code --server} to reach this server's tunnel endpoint, for the UI's ready-made
     * commands: the configured domain, else the host name the browser used, with the endpoint's port. A bare
     * {@code host:port} when the endpoint serves TLS (the client's default is wss), {@code ws://host:port} when
     * it speaks plain WebSocket.
     */
    public String tunnelServerAddress(String requestHost) {
        String host = config.domain() != null ? config.domain() : requestHost;
        if (host.contains(":")) {
            host = "[" + host + "]";
        }
        int port = config.publicPorts().tunnelOr(tunnelEndpoint != null ? tunnelEndpoint.port()
                : config.tunnelAddr().port());
        TunnelEndpointTls endpointTls = tunnelEndpointTls;
        return (endpointTls != null && endpointTls.servesTls() ? "" : "ws://") + host + ":" + port;
    }

    /**
     * Whether a service serves right now: a tcp service waiting for its port does not, nor a service enabled while the
     * server drains to stop (its ports are closed).
     */
    private ServiceActivity activity(Service service) {
        if (!service.enabled()) {
            return ServiceActivity.DISABLED;
        }
        Optional<String> notPublished = notPublished(service);
        if (notPublished.isPresent()) {
            // Not published (allowedTcpPortsOnly): nothing listens, whatever TcpServices, never told of it, would say.
            return new ServiceActivity(false, "not listening: " + notPublished.get());
        }
        if (service.type() == ServiceType.TCP && tcpServices != null) {
            if (tcpServices.listensFromNextStart(service.id())) {
                return ServiceActivity.LISTENS_FROM_NEXT_START;
            }
            return tcpServices.problem(service.id()).map(error -> new ServiceActivity(false, error))
                    .orElse(ServiceActivity.ACTIVE);
        }
        if (service.type() == ServiceType.HTTP && httpRoutes != null && httpRoutes.listensFromNextStart(service.id())) {
            return ServiceActivity.LISTENS_FROM_NEXT_START;
        }
        return ServiceActivity.ACTIVE;
    }

    /** {@code GET /api/server}: what the UI shows about this server (addresses of services, client commands). */
    private Map<String, Object> serverInfo(String requestHost) {
        Map<String, Object> info = new LinkedHashMap<>();
        info.put("tunnel_server", tunnelServerAddress(requestHost));
        info.put("domain", config.domain());
        info.put("public_host", config.domain() != null ? config.domain() : requestHost);
        info.put("http_port", config.publicPorts().httpOr(httpListener != null ? httpListener.port()
                : config.httpAddr().port()));
        info.put("https_port", config.publicPorts().httpsOr(tls != null ? tls.httpsPort() : config.httpsAddr().port()));
        info.put("image_prefix", config.imagePrefix());
        info.put("version", Version.get());
        return info;
    }

    private <T extends AutoCloseable> T running(T component) {
        return running(component.getClass().getSimpleName(), component);
    }

    private <T extends AutoCloseable> T running(String name, T component) {
        running.push(new Running(name, component));
        return component;
    }

    /** A component {@link #stop} closes, with the name its failure is logged with. */
    private record Running(String name, AutoCloseable component) {
    }

    private static String displayAddress(HostPort listener, int port) {
        return "http://" + displayHostPort(listener, port);
    }

    /**
     * The listener's host as given, or, for none, the wildcard address it binds: [::] (IPv4 too) or 0.0.0.0, every
     * interface, not the "localhost" it once read.
     */
    static String displayHostPort(HostPort listener, int port) {
        return SocketAddresses.describe(listener.host().isEmpty()
                ? new InetSocketAddress(listener.toBindAddress().getAddress(), port)
                : InetSocketAddress.createUnresolved(listener.host(), port));
    }

    /**
     * Stops as on SIGTERM: checks no more tunnels, gives up an ACME order under way (one past validation after up to
     * 5 s for its certificate to be saved; no retry delay: the next start orders at once, or takes the order up),
     * takes no new visitors or tunnel clients, sends GoAway on every
     * tunnel session so no new streams open, lets the open streams finish for up to {@code grace}, then stops
     * everything (which resets the streams still open).
     */
    public synchronized void stop(Duration grace) {
        if (stopped) {
            return;
        }
        StopSteps steps = new StopSteps(log);
        if (!grace.isZero() && !grace.isNegative() && tunnelEndpoint != null) {
            drain(grace, steps);
        }
        stopAll(steps);
        steps.throwFirstFailure();
    }

    /** The draining steps of {@link #stop(Duration)}, each run even when one before it failed. */
    private void drain(Duration grace, StopSteps steps) {
        if (monitor != null) {
            // Clients leave while the server drains: checks now would record every tunnel as down.
            steps.run("stopping the uptime checks", monitor::stopChecking);
        }
        if (serviceSignIn != null) {
            // The proxy's listeners close now: a sign-in's return could reach only what still holds their ports.
            steps.run("stopping the services' sign-in", serviceSignIn::stopSigningIn);
        }
        steps.run("giving up the ACME order", this::stopAcme);
        // Before the ports close: a connection accepted before whose stream would open once they refuse (a ClientHello
        // read then) is closed at once, not relayed while the steps up to the sessions' GoAway run.
        steps.run("taking no new streams", registry::serverStopping);
        if (httpProxy != null) {
            // In the same step: a keep-alive request refused from now on closes its connection (HTTP/2: GOAWAY) and
            // idle connections close, rather than a 503 server_stopping that keeps its connection open.
            steps.run("telling the HTTP proxy of the drain", httpProxy::draining);
        }
        if (httpListener != null) {
            closeNow(httpListener, steps);
        }
        if (httpsListener != null) {
            closeNow(httpsListener, steps);
        }
        if (httpRoutes != null) {
            steps.run("stopping the http services' routes", httpRoutes::stopListening);
        }
        if (tcpServices != null) {
            steps.run("closing the tcp services' listeners", tcpServices::stopAccepting);
        }
        if (httpProxy != null) {
            // Idle keep-alive streams would only hold the drain open until the grace period ends.
            closeNow(httpProxy.upstreams(), steps);
        }
        steps.run("draining the tunnel sessions", () -> {
            int left = tunnelEndpoint.drain(grace);
            if (left > 0 && tunnelEndpoint.drainWasCutShort()) {
                log.warn("Stopping now: resetting {} open stream(s)", left);
            } else if (left > 0) {
                log.warn("Grace period of {} over: resetting {} open stream(s)", Durations.format(grace), left);
            }
        });
    }

    /**
     * Cuts the grace period of a {@link #stop(Duration)} under way short: the streams still open are reset now. Not
     * synchronized: that stop holds the lock while it waits.
     */
    public void stopNow() {
        TunnelEndpoint endpoint = tunnelEndpoint;
        if (endpoint != null) {
            endpoint.cutDrainShort();
        }
    }

    /**
     * Stops every component, newest first, at once (open streams are reset). Safe to call more than once. A component
     * whose stop fails is logged, and the others are stopped all the same.
     */
    public synchronized void stop() {
        stopAll(new StopSteps(log));
    }

    private void stopAll(StopSteps steps) {
        if (stopped) {
            return;
        }
        stopped = true;
        if (httpProxy != null) {
            // Before the tunnel endpoint closes the sessions, which ends the streams still open.
            steps.run("telling the HTTP proxy of the stop", httpProxy::stopping);
        }
        if (monitor != null) {
            // Before anything closes: a round of checks in flight would see its probes fail and record them as down.
            steps.run("stopping the uptime checks", monitor::stopChecking);
        }
        while (!running.isEmpty()) {
            close(running.pop(), steps);
        }
    }

    /**
     * Closes a running {@code component} ahead of the others (a drain's listeners, the idle upstreams), once: the final
     * stop does not close it again, so a close that fails is one ERROR line, not a second one under the component's
     * name.
     */
    private void closeNow(AutoCloseable component, StopSteps steps) {
        running.stream().filter(next -> next.component() == component).findFirst().ifPresent(next -> {
            running.remove(next);
            close(next, steps);
        });
    }

    private static void close(Running next, StopSteps steps) {
        steps.run("closing " + next.name(), () -> {
            try {
                next.component().close();
            } catch (RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
        });
    }

    /** While the listeners still answer its challenges: an order cut short by them would be kept as a failure. */
    private void stopAcme() {
        if (tls != null) {
            tls.stopAcme();
        }
    }

    @Override
    public void close() {
        stop();
    }

    public ServerConfig config() {
        return config;
    }

    /** The management API's port as bound (the configured one, or the ephemeral one for port 0). */
    public int apiPort() {
        return api.port();
    }

    /** The admin token for the API, or null when authentication is off ({@code PICOTUNNEL_AUTH=none}). */
    public String adminToken() {
        return adminToken;
    }

    /** The tunnel endpoint's port as bound. */
    public int tunnelPort() {
        return tunnelEndpoint.port();
    }

    /** The listeners of tcp services. */
    public TcpServices tcpServices() {
        return tcpServices;
    }

    /** The Netty event loops of the tunnel endpoint and the tcp services. */
    public EventLoopGroup eventLoops() {
        return eventLoops;
    }

    /** The HTTP proxy's port as bound. */
    public int httpPort() {
        return httpListener.port();
    }

    /** Proxied HTTP requests (streams, idle keep-alive ones included) open now for {@code tunnelId}. */
    public int openTunnelRequests(String tunnelId) {
        return tunnelUpstream.openRequests(tunnelId);
    }

    /** The HTTPS listener's port as bound. */
    public int httpsPort() {
        return tls.httpsPort();
    }

    /** Certificates, ACME and the HTTPS listener. */
    public ServerTls tls() {
        return tls;
    }

    public TunnelRegistry registry() {
        return registry;
    }

    public Store store() {
        return store;
    }

    /** What happened: clients, services, certificates, checks. */
    public EventLog events() {
        return events;
    }

    /**
     * The upload bytes the HTTP/2 connections hold for streams whose body cannot go on yet, each DATA frame counted
     * with its cost in the heap; 0 before the proxy started.
     */
    public long http2UploadBytesHeld() {
        HttpProxy proxy = httpProxy;
        return proxy == null ? 0 : proxy.http2UploadBytesHeld();
    }

    /** What the request bodies kept for a retry hold together, server-wide; null before the proxy started. */
    public BodyCopyBudget bodyCopies() {
        HttpProxy proxy = httpProxy;
        return proxy == null ? null : proxy.bodyCopies();
    }

    /** Bytes, connections and requests of every tunnel and service. */
    public Traffic traffic() {
        return traffic;
    }

    /** Check results and per-service probe settings. */
    public CheckStore checks() {
        return checks;
    }
}
