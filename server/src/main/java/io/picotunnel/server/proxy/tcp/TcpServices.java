package io.picotunnel.server.proxy.tcp;

import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.server.access.AccessControl;
import io.picotunnel.server.config.Limits;
import io.picotunnel.server.net.BindFailures;
import io.picotunnel.server.net.ConnectionLimits;
import io.picotunnel.server.monitor.TrafficCounters;
import io.picotunnel.server.net.HostPort;
import io.picotunnel.server.net.SocketAddresses;
import io.picotunnel.server.store.PortInUseException;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceConflictException;
import io.picotunnel.server.store.ServiceListener;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.UndoFailedException;
import io.picotunnel.server.tunnel.TunnelRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Keeps one listening socket per enabled {@code tcp} service, following the store: bound on create or
 * enable, unbound on disable or delete (which also ends its connections), rebound on a new listen address
 * (the new one first, so a failed rebind leaves the old one serving). Every accepted connection becomes a
 * stream to the tunnel's client, within the connection limits of its listener.
 *
 * <p>Told of a change inside the store's transaction ({@link #stage}), it binds a new address there, so that a port
 * in use refuses the change, and does the rest (the old address let go, connections cut) only once the change is
 * stored: a change the store undoes (its commit failed) leaves the ports and the connections as they were.
 *
 * <p>A stored service whose port cannot be bound when the server starts (another process holds it) is not
 * dropped: it waits, inactive with the reason ({@link #problem}), and binding is tried again every
 * {@link #DEFAULT_RETRY_INTERVAL} until it succeeds, so the service becomes active once the port is free. So does
 * a service that lost its port while it moved to an address overlapping its old one (the new one could not be bound,
 * and another process took the old one in the moment it was free): it keeps its connections, and its old address is
 * tried again. A same-port move that was not stored and could not move back waits for its stored address likewise.
 */
public final class TcpServices implements ServiceListener, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(TcpServices.class);

    private final TunnelRegistry registry;
    private final AccessControl access;
    private final EventLoopGroup acceptors;
    private final EventLoopGroup workers;
    private final int maxConnections;
    private final int maxConnectionsPerAddress;
    /** By service id; changed only under this object's lock (API and start-up threads, never the data plane). */
    private final Map<String, TcpListener> listeners = new HashMap<>();
    /** Enabled services waiting for their port, by id, with why the last bind failed (none in {@link #listeners}). */
    private final Map<String, Waiting> waiting = new HashMap<>();
    private final ScheduledExecutorService retries;
    private final Function<Service, TrafficCounters> counters;
    private final Duration retryInterval;
    /** How the listeners let their ports go: a bind waits only for a port one of them is still letting go. */
    private final PortReleases releases;
    /**
     * What {@link #listensOn} reads without this object's lock, which a bind holds for up to seconds (a sign-in's
     * check must not wait for it): the addresses the services listen on, wait for, or are being bound to. Replaced
     * whole under the lock before every bind and after every change, so an address counts from the moment its bind
     * starts until its listener is gone.
     */
    private volatile List<InetSocketAddress> claimed = List.of();
    /** The listeners whose open connections {@link #listensOn} counts too (replaced with {@link #claimed}). */
    private volatile List<TcpListener> holding = List.of();
    /** False once {@link #stopAccepting} ran: the server is shutting down, no port is bound any more. */
    private boolean accepting = true;
    /**
     * Enabled or moved since {@link #stopAccepting} ran (created, enabled, given another listen_addr): not bound where
     * they are stored to listen, they listen there from the next start.
     */
    private final Set<String> fromNextStart = new HashSet<>();
    /** The listen_addr of each service listening when {@link #stopAccepting} ran, by service id. */
    private final Map<String, String> listenedAtStop = new HashMap<>();

    /** How often a service waiting for its port tries to bind it again. */
    public static final Duration DEFAULT_RETRY_INTERVAL = Duration.ofSeconds(5);

    /** {@code kept}: the listener that lost its port, whose connections go on, bound again once it can be; or null. */
    record Waiting(Service service, InetSocketAddress address, String error, TcpListener kept) {

        Waiting with(Service next, String nextError) {
            if (kept != null) {
                kept.update(next);
            }
            return new Waiting(next, address, nextError, kept);
        }
    }

    public TcpServices(TunnelRegistry registry, EventLoopGroup acceptors, EventLoopGroup workers) {
        this(registry, acceptors, workers, new PortReleases(PortReleases.RELEASE_WAIT));
    }

    /** As {@link #TcpServices(TunnelRegistry, EventLoopGroup, EventLoopGroup)}, the ports let go by {@code releases}. */
    TcpServices(TunnelRegistry registry, EventLoopGroup acceptors, EventLoopGroup workers, PortReleases releases) {
        this(registry, AccessControl.open(), acceptors, workers, service -> TrafficCounters.NONE, DEFAULT_RETRY_INTERVAL,
                Limits.DEFAULTS.maxConnections(), Limits.DEFAULTS.maxConnectionsPerAddress(), releases);
    }

    /**
     * {@code access} checks every new connection against its service's IP rules and rate limit; {@code counters}
     * gives each service's lasting traffic counters; a service waiting for its port tries to bind it again every
     * {@code retryInterval}; each service's listener takes at most {@code maxConnections} open connections, and
     * {@code maxConnectionsPerAddress} from one client address, a trusted proxy's not counted (a connection over
     * either is closed at once).
     */
    public TcpServices(TunnelRegistry registry, AccessControl access, EventLoopGroup acceptors, EventLoopGroup workers,
                       Function<Service, TrafficCounters> counters, Duration retryInterval, int maxConnections,
                       int maxConnectionsPerAddress) {
        this(registry, access, acceptors, workers, counters, retryInterval, maxConnections, maxConnectionsPerAddress,
                new PortReleases(PortReleases.RELEASE_WAIT));
    }

    /** As the constructor above, the ports let go by {@code releases}. */
    TcpServices(TunnelRegistry registry, AccessControl access, EventLoopGroup acceptors, EventLoopGroup workers,
                Function<Service, TrafficCounters> counters, Duration retryInterval, int maxConnections,
                int maxConnectionsPerAddress, PortReleases releases) {
        this.registry = registry;
        this.releases = releases;
        this.access = access;
        this.acceptors = acceptors;
        this.workers = workers;
        this.counters = counters;
        this.retryInterval = retryInterval;
        this.maxConnections = maxConnections;
        this.maxConnectionsPerAddress = maxConnectionsPerAddress;
        this.retries = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon()
                .name("picotunnel-tcp-rebind").factory());
        retries.scheduleWithFixedDelay(this::retryWaiting, retryInterval.toMillis(), retryInterval.toMillis(),
                TimeUnit.MILLISECONDS);
    }

    /**
     * Publishes a stored service at start-up: as {@link #onServiceChange}, but a port that cannot be bound leaves
     * the service waiting (inactive, with the reason) and tried again periodically instead of refused.
     */
    public synchronized void publishStored(Service service) throws ServiceConflictException {
        try {
            onServiceChange(null, service);
        } catch (ServiceConflictException e) {
            if (!shouldListen(service) || !(e.getCause() instanceof IOException)) {
                throw e;
            }
            InetSocketAddress address = HostPort.parse(service.listenAddr(), HostPort.Rules.SERVICE_LISTEN).toBindAddress();
            waiting.put(service.id(), new Waiting(service, address, e.getMessage(), null));
            claim(null);
            LOG.warn("tcp service {} is not active: {}; trying again every {}", service.id(), e.getMessage(),
                    Durations.format(retryInterval));
        }
    }

    /**
     * Why an enabled tcp service is not serving right now (its port taken, say), or empty when it is serving, is
     * disabled or is no tcp service. A port closed for a draining shutdown ({@link #stopAccepting}) is no problem of the
     * service's: its connections go on, as the http services' do while the proxy's listeners are closed. A service
     * enabled during that drain, or moved to another address, is no problem either: see {@link #listensFromNextStart}.
     */
    public synchronized Optional<String> problem(String serviceId) {
        Waiting w = waiting.get(serviceId);
        if (w != null) {
            return Optional.of(w.error());
        }
        TcpListener listener = listeners.get(serviceId);
        if (accepting && listener != null && !listener.isListening()) {
            return Optional.of("not listening: it lost its port");
        }
        return Optional.empty();
    }

    /**
     * Whether the service was created, enabled or moved to another address after {@link #stopAccepting}: it never
     * listened where it is stored to, and listens there from the next start.
     */
    public synchronized boolean listensFromNextStart(String serviceId) {
        return fromNextStart.contains(serviceId);
    }

    /** Whether the services take new visitors: false once {@link #stopAccepting} closed their ports. */
    public synchronized boolean accepting() {
        return accepting;
    }

    /** A listener for the service, within the connection limits every tcp service listener has. */
    private TcpListener newListener(Service service) {
        ConnectionLimits limits = new ConnectionLimits("tcp service " + service.id(), maxConnections,
                maxConnectionsPerAddress, access.trustedProxies()::trusts);
        return new TcpListener(service, registry, access, limits, acceptors, workers, counters.apply(service), releases);
    }

    private synchronized void retryWaiting() {
        try {
            retryEachWaiting();
        } finally {
            claim(null);
        }
    }

    private void retryEachWaiting() {
        for (Iterator<Waiting> it = waiting.values().iterator(); it.hasNext(); ) {
            Waiting w = it.next();
            TcpListener listener = w.kept() != null ? w.kept() : newListener(w.service());
            try {
                listener.listen(w.address());
            } catch (IOException e) {
                String error = "cannot listen on " + describe(w.address()) + ": " + e.getMessage();
                if (!error.equals(w.error())) {
                    waiting.put(w.service().id(), w.with(w.service(), error));
                }
                continue;
            } catch (RuntimeException e) {
                LOG.warn("tcp service {}: binding {} again failed: {}", w.service().id(), describe(w.address()), e.toString());
                continue;
            }
            it.remove();
            listeners.put(w.service().id(), listener);
            LOG.info("tcp service {} is active: listening on {} for target {}", w.service().id(),
                    describe(listener.address()), w.service().targetAddr());
        }
    }

    /** Applies a change at once (as if stored as soon as it is told). */
    @Override
    public synchronized void onServiceChange(Service before, Service after) throws ServiceConflictException {
        stage(before, after).stored();
    }

    /**
     * Does now only what may refuse the change: binding a new address, beside the old one if there is one. The rest
     * (letting the old address go, cutting the connections of a service deleted or disabled, a new target) waits until
     * the change is stored; a change the store undoes lets go of what it bound, and leaves the ports and the
     * connections as they were.
     */
    @Override
    public synchronized Staged stage(Service before, Service after) throws ServiceConflictException {
        try {
            return bindAhead(before, after);
        } finally {
            claim(null);
        }
    }

    private Staged bindAhead(Service before, Service after) throws ServiceConflictException {
        String id = after != null ? after.id() : before.id();
        Waiting wait = waiting.get(id);
        TcpListener current = wait != null ? wait.kept() : listeners.get(id);
        if (!accepting || !needsBind(after, wait, current)) {
            return Staged.onceStored(() -> changeStored(before, after));
        }
        InetSocketAddress address = bindAddress(after);
        if (current == null) {
            return new StagedBind(this, id, bindNew(id, after, address), wait);
        }
        Service previous = current.service();
        claim(address);
        Channel old;
        try {
            old = current.listenBeside(address, after);
        } catch (IOException e) {
            if (!TcpListener.overlap(current.address(), address)) {
                // Another program's: the old address goes on listening, never let go for a move that cannot be made.
                throw refusal(address, e);
            }
            // The new address overlaps the old one (0.0.0.0:P and 127.0.0.1:P): it can only be bound once the old one
            // is let go, so the service moves now, and back again if the move is undone.
            try {
                change(before, after);
            } catch (ServiceConflictException refused) {
                if (refused.getCause() instanceof TcpListener.ListenerLost lost) {
                    LOG.error("tcp service {} is not listening: moving it to {} failed ({}), and meanwhile another"
                            + " process took its port {} ({}); its connections go on, and binding {} is tried again"
                            + " every {}", id, describe(address), lost.getMessage(), describe(lost.address()),
                            lost.reason(), describe(lost.address()), Durations.format(retryInterval));
                }
                throw refused;
            }
            return new StagedMoveInPlace(this, before, after);
        }
        register(id, current);
        return new StagedMove(this, id, current, old, previous, wait);
    }

    /** Whether {@code after} is to listen on an address its service has no listener bound to, nor waits for. */
    private static boolean needsBind(Service after, Waiting wait, TcpListener current) {
        if (!shouldListen(after)) {
            return false;
        }
        if (wait != null) {
            return !after.listenAddr().equals(wait.service().listenAddr());
        }
        return current == null || !current.isListening() || !current.service().listenAddr().equals(after.listenAddr());
    }

    /** A stored change that binds nothing new: applied now. */
    private synchronized void changeStored(Service before, Service after) {
        try {
            apply(before, after);
        } catch (ServiceConflictException e) {
            LOG.warn("tcp service {}: a stored change could not be applied: {}",
                    after != null ? after.id() : before.id(), e.getMessage());
        }
    }

    /** Applies a change at once, as {@link #onServiceChange}, from a {@link Staged} of this object. */
    synchronized void apply(Service before, Service after) throws ServiceConflictException {
        try {
            change(before, after);
        } finally {
            claim(null);
        }
    }

    /**
     * The listener a change had registered for the service is no longer its own (the change was undone); {@code wait},
     * when not null, is how the service waited for its port before. Called under this object's lock.
     */
    void forget(String id, TcpListener listener, Waiting wait) {
        listeners.remove(id, listener);
        if (wait != null) {
            waiting.put(id, wait);
        }
    }

    /**
     * After {@code failure}, a move back to {@code stored}'s address that failed (another process took it meanwhile),
     * the service waits for that address, tried again every {@link #retryInterval}, and listens nowhere else: not
     * on the address it moved from, which is not stored. Its listener is kept for its connections. Logs the one ERROR
     * that says so (and, when letting that other address go failed too, says that as well), and returns what the undo
     * throws, which says the same (the store logs it only at DEBUG).
     */
    synchronized UndoFailedException waitForStored(Service stored, ServiceConflictException failure) {
        String id = stored.id();
        TcpListener listener = listenerOf(id);
        InetSocketAddress address = HostPort.parse(stored.listenAddr(), HostPort.Rules.SERVICE_LISTEN).toBindAddress();
        Throwable reason = failure.getCause() != null ? failure.getCause() : failure;
        String error = "cannot listen on " + describe(address) + ": " + reason.getMessage();
        listeners.remove(id);
        // Waiting before its port is let go: one whose letting go throws still has its connections cut by close().
        waiting.put(id, new Waiting(stored, address, error, listener));
        RuntimeException letGoFailure = null;
        if (listener != null) {
            InetSocketAddress unstored = listener.address();
            try {
                listener.closeListening();
            } catch (RuntimeException e) {
                letGoFailure = e;
                error += "; letting " + (unstored != null ? describe(unstored) : "the address it moved to") + " go failed: "
                        + e.getMessage();
                waiting.put(id, new Waiting(stored, address, error, listener));
            } finally {
                listener.update(stored);
            }
        }
        claim(null);
        LOG.error("tcp service {} is not listening: its move was not stored, and moving back failed ({}); its"
                + " connections go on, and binding {} is tried again every {}", id, error, describe(address),
                Durations.format(retryInterval));
        UndoFailedException undoFailed = new UndoFailedException(error + "; the service is not listening until it is"
                + " free (tried every " + Durations.format(retryInterval) + ")", failure);
        if (letGoFailure != null) {
            undoFailed.addSuppressed(letGoFailure);
        }
        return undoFailed;
    }

    static void logListening(String id, TcpListener listener) {
        LOG.info("tcp service {} listening on {} for target {}", id, describe(listener.address()),
                listener.service().targetAddr());
    }

    /** A new listener for the service bound to {@code address}, which now listens for it. */
    private TcpListener bindNew(String id, Service service, InetSocketAddress address) throws ServiceConflictException {
        claim(address);
        TcpListener listener = newListener(service);
        try {
            listener.listen(address);
        } catch (IOException e) {
            throw refusal(address, e);
        }
        register(id, listener);
        return listener;
    }

    /** {@code listener}, bound, now listens for the service, which no longer waits for its port. */
    private void register(String id, TcpListener listener) {
        listeners.put(id, listener);
        waiting.remove(id);
    }

    /** The API's 409 for an address that could not be bound. */
    private static ServiceConflictException refusal(InetSocketAddress address, IOException e) {
        String refusal = "cannot listen on " + describe(address) + ": " + e.getMessage();
        return BindFailures.inUse(e) ? new PortInUseException(refusal, e) : new ServiceConflictException(refusal, e);
    }

    private static InetSocketAddress bindAddress(Service service) throws ServiceConflictException {
        try {
            return HostPort.parse(service.listenAddr(), HostPort.Rules.SERVICE_LISTEN).toBindAddress();
        } catch (IllegalArgumentException e) {
            throw new ServiceConflictException("listen_addr " + e.getMessage(), e);
        }
    }

    private void change(Service before, Service after) throws ServiceConflictException {
        String id = after != null ? after.id() : before.id();
        fromNextStart.remove(id);
        TcpListener current = listeners.get(id);
        Waiting wait = waiting.get(id);
        if (wait != null) {
            if (!shouldListen(after)) {
                waiting.remove(id);
                if (wait.kept() != null) {
                    wait.kept().close();
                }
                LOG.info("tcp service {} no longer waits for its port", id);
                return;
            }
            if (after.listenAddr().equals(wait.service().listenAddr())) {
                waiting.put(id, wait.with(after, wait.error()));
                return;
            }
            current = wait.kept();
        }
        if (!shouldListen(after)) {
            if (current != null) {
                listeners.remove(id);
                current.close();
                LOG.info("tcp service {} stopped listening", id);
            }
            return;
        }
        if (!accepting) {
            // Draining for a shutdown (the API still takes changes): the change is stored and served from the next
            // start; binding now would take visitors in only to reset them.
            if (current != null) {
                current.update(after);
            }
            if (current == null || !after.listenAddr().equals(listenedAtStop.get(id))) {
                fromNextStart.add(id);
            }
            return;
        }
        InetSocketAddress address = bindAddress(after);
        if (current == null) {
            logListening(id, bindNew(id, after, address));
            return;
        }
        if (current.service().listenAddr().equals(after.listenAddr()) && current.isListening()) {
            current.update(after);
            return;
        }
        claim(address);
        try {
            current.relisten(address, after);
        } catch (TcpListener.ListenerLost e) {
            listeners.remove(id);
            String error = "cannot listen on " + describe(e.address()) + ": " + e.reason();
            waiting.put(id, new Waiting(current.service(), e.address(), error, current));
            // Logged by the caller: a move back that was not stored waits for another address (waitForStored).
            throw new ServiceConflictException("cannot listen on " + describe(address) + ": " + e.getMessage()
                    + "; meanwhile another process took the old address " + describe(e.address()) + ", so the service"
                    + " is not listening until that is free again (tried every " + Durations.format(retryInterval) + ")", e);
        } catch (IOException e) {
            throw refusal(address, e);
        }
        register(id, current);
        logListening(id, current);
    }

    private static boolean shouldListen(Service service) {
        return service != null && service.type() == ServiceType.TCP && service.enabled();
    }

    /**
     * Whether a tcp service listens on {@code port} (on any of its addresses), waits to listen there while another
     * process holds it, or still has connections open that it accepted there (before it moved, or stopped listening
     * for a draining shutdown).
     */
    public boolean listensOn(int port) {
        return listensOn(port, Set.of());
    }

    /**
     * Whether a connection to {@code port} that arrives at one of the local addresses {@code reached} may be a tcp
     * service's: one listens (or waits to listen, or holds connections it accepted) on the port at the wildcard address, at one of {@code reached}, or at
     * an address of a family (IPv4, IPv6) that none of {@code reached} is of, since a host name that resolves to an
     * address of one family may also have a record of the other, which the server cannot see. {@code reached} empty:
     * where such a connection arrives is not known, and a tcp service on the port at any address counts.
     */
    public boolean listensOn(int port, Set<InetAddress> reached) {
        for (InetSocketAddress address : claimed) {
            if (mayReach(address, port, reached)) {
                return true;
            }
        }
        for (TcpListener listener : holding) {
            for (InetSocketAddress address : listener.connectionAddresses()) {
                if (mayReach(address, port, reached)) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * Replaces {@link #claimed}: the addresses listened on and waited for, and {@code binding} when not null. Called
     * under this object's lock.
     */
    void claim(InetSocketAddress binding) {
        List<InetSocketAddress> addresses = new ArrayList<>();
        List<TcpListener> withConnections = new ArrayList<>(listeners.values());
        for (TcpListener listener : listeners.values()) {
            if (listener.address() != null) {
                addresses.add(listener.address());
            }
        }
        for (Waiting w : waiting.values()) {
            addresses.add(w.address());
            if (w.kept() != null) {
                withConnections.add(w.kept());
            }
        }
        if (binding != null) {
            addresses.add(binding);
        }
        claimed = List.copyOf(addresses);
        holding = List.copyOf(withConnections);
    }

    /** Whether a connection to {@code port} that arrives at one of {@code reached} (empty: anywhere) may reach {@code bound}. */
    private static boolean mayReach(InetSocketAddress bound, int port, Set<InetAddress> reached) {
        if (bound.getPort() != port) {
            return false;
        }
        InetAddress address = bound.getAddress();
        if (reached.isEmpty() || address == null || address.isAnyLocalAddress() || reached.contains(address)) {
            return true;
        }
        return reached.stream().noneMatch(r -> r.getClass() == address.getClass());
    }

    /** Where the service is listening, if it is. */
    public synchronized Optional<InetSocketAddress> boundAddress(String serviceId) {
        return Optional.ofNullable(listeners.get(serviceId)).map(TcpListener::address);
    }

    /** Connections of the service open right now. */
    public synchronized int openConnections(String serviceId) {
        TcpListener listener = listenerOf(serviceId);
        return listener == null ? 0 : listener.openConnections();
    }

    /** Byte counts of the service since it started listening, if it is (or lost its port, its connections going on). */
    public synchronized Optional<TcpTraffic> traffic(String serviceId) {
        return Optional.ofNullable(listenerOf(serviceId)).map(TcpListener::traffic);
    }

    /** The service's listener, listening or kept while it waits for its port; null when it has none. */
    synchronized TcpListener listenerOf(String serviceId) {
        TcpListener listener = listeners.get(serviceId);
        Waiting w = waiting.get(serviceId);
        return listener != null ? listener : w == null ? null : w.kept();
    }

    /**
     * Stops accepting visitors on every tcp service; their open connections go on (a draining shutdown). Throws the
     * first failure only once every listener stopped (the others added to it as suppressed), as {@link #close} does.
     */
    public synchronized void stopAccepting() {
        accepting = false;
        retries.shutdownNow();
        RuntimeException failure = null;
        for (Map.Entry<String, TcpListener> listener : listeners.entrySet()) {
            listenedAtStop.put(listener.getKey(), listener.getValue().service().listenAddr());
            try {
                listener.getValue().closeListening();
            } catch (RuntimeException e) {
                failure = firstOf(failure, e);
            }
        }
        claim(null);
        if (failure != null) {
            throw failure;
        }
    }

    /**
     * Closes every listener, and throws the first failure only once all are closed (the others added to it as
     * suppressed): one that fails must not leave the ports of the listeners after it bound.
     */
    @Override
    public synchronized void close() {
        accepting = false;
        retries.shutdownNow();
        List<TcpListener> all = new ArrayList<>();
        for (Waiting w : waiting.values()) {
            if (w.kept() != null) {
                all.add(w.kept());
            }
        }
        all.addAll(listeners.values());
        waiting.clear();
        listeners.clear();
        RuntimeException failure = null;
        for (TcpListener listener : all) {
            try {
                listener.close();
            } catch (RuntimeException e) {
                failure = firstOf(failure, e);
            }
        }
        claim(null);
        if (failure != null) {
            throw failure;
        }
    }

    /** {@code first}, {@code next} added to it as suppressed; {@code next} when there is no first. */
    private static RuntimeException firstOf(RuntimeException first, RuntimeException next) {
        if (first == null) {
            return next;
        }
        first.addSuppressed(next);
        return first;
    }

    static String describe(InetSocketAddress address) {
        if (address == null) {
            return "nothing";
        }
        return SocketAddresses.describe(address);
    }
}
