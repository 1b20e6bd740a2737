package io.picotunnel.server.proxy.http;

import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The routes of the HTTP proxy, following the store: every service change rebuilds an immutable
 * {@link RouteTable} that replaces the previous one at once, so lookups on the event loops never lock and
 * never see a half-applied change.
 */
public final class HttpRoutes implements ServiceListener {

    private static final Logger LOG = LoggerFactory.getLogger(HttpRoutes.class);

    /** Two services whose prefixes are one route, as warned of: by ids and route, whatever else changes. */
    private record Pair(String domain, String route, String winner, String loser) {
    }

    private final Map<String, Service> services = new HashMap<>();
    /** {@link #services} as of the last change, read on the event loops without a lock. */
    private volatile Map<String, Service> byId = Map.of();
    /** Told of each change once it is applied, in order: the service as it was ({@link #afterEachChange}). */
    private final List<Consumer<Service>> followers = new CopyOnWriteArrayList<>();
    /** The pairs of the current table, each warned of once when it appeared. */
    private Set<Pair> coinciding = Set.of();
    private volatile RouteTable table = RouteTable.EMPTY;
    /** The disabled http services, as if enabled: visitors of one are told it is turned off, not that it is unknown. */
    private volatile RouteTable disabled = RouteTable.EMPTY;
    /** False once {@link #stopListening} ran: the HTTP and HTTPS ports are closed for a draining shutdown. */
    private boolean listening = true;
    /** Enabled or moved since {@link #stopListening} ran (created, enabled, given another route): unreachable this run. */
    private final Set<String> fromNextStart = new HashSet<>();
    /** The route (domain, path prefix) of each service enabled when {@link #stopListening} ran, and enabled since. */
    private final Map<String, Route> routedAtStop = new HashMap<>();

    /**
     * Nothing is refused here, so a change waits until it is stored: otherwise, during a delete or disable whose commit
     * fails, visitors of a service that stays stored would be told it is unknown.
     */
    @Override
    public Staged stage(Service before, Service after) {
        return Staged.onceStored(() -> onServiceChange(before, after));
    }

    @Override
    public synchronized void onServiceChange(Service before, Service after) {
        if (before != null) {
            services.remove(before.id());
        }
        if (after != null) {
            services.put(after.id(), after);
        }
        String id = after != null ? after.id() : before.id();
        if (after == null || !after.enabled()) {
            fromNextStart.remove(id);
            routedAtStop.remove(id);
        } else if (!listening && route(after).equals(routedAtStop.get(id))) {
            fromNextStart.remove(id);
        } else if (!listening) {
            fromNextStart.add(id);
        }
        byId = Map.copyOf(services);
        table = RouteTable.of(services.values());
        disabled = RouteTable.of(services.values().stream().filter(s -> !s.enabled()).map(s -> new Service(s.id(),
                s.tunnelId(), s.type(), s.domain(), s.pathPrefix(), s.tlsMode(), s.listenAddr(), s.targetAddr(), true,
                s.createdAt(), s.httpsRedirect(), s.access(), s.creationOrder())).toList());
        warnOfNewCoincidingPrefixes();
        for (Consumer<Service> follower : followers) {
            tell(follower, before, id);
        }
    }

    /**
     * A follower runs inside this lock and the store's write: one that throws is logged and the others are told all
     * the same, rather than its exception ending the change half told. An Error of its own (an AssertionError, a class
     * that failed to load) is its bug as a RuntimeException is; a VirtualMachineError (out of memory, a stack
     * overflow) is the JVM's and goes on, as no later follower nor the log can be counted on after it.
     */
    private static void tell(Consumer<Service> follower, Service before, String id) {
        try {
            follower.accept(before);
        } catch (VirtualMachineError e) {
            throw e;
        } catch (Throwable e) {
            LOG.warn("A follower of the HTTP routes failed on the change of service {}", id, e);
        }
    }

    /**
     * {@code follower} is told, after each change is applied (so {@link #service} already answers the new state), of
     * the service as it was before it: null for a new one. The proxy's pool closes the idle streams of a service that
     * no longer goes where they go.
     */
    void afterEachChange(Consumer<Service> follower) {
        followers.add(follower);
    }

    /** The service of this id as the routes have it now, enabled or not; null when there is none. */
    Service service(String id) {
        return byId.get(id);
    }

    /**
     * Prefixes stored raw before the API percent-encoded them ({@code /{id}}) are read as their encoding
     * ({@code /%7Bid%7D}), so a service created since with the encoded spelling for the same domain is the same
     * route: one of them gets no request. Said once per pair, at start (the stored services are replayed) and when a
     * change makes one.
     */
    private void warnOfNewCoincidingPrefixes() {
        Set<Pair> now = new HashSet<>();
        for (RouteTable.Coinciding c : table.coinciding()) {
            Pair pair = new Pair(c.domain(), c.prefix(), c.winner().id(), c.loser().id());
            now.add(pair);
            if (!coinciding.contains(pair)) {
                LOG.warn("Services {} (path_prefix {}) and {} (path_prefix {}) of domain {} are one route, {}, as this"
                        + " server compares paths (a path_prefix stored as typed before the API percent-encoded it reads as"
                        + " its encoding): service {}, the older, gets all its requests and service {} none. Delete one of"
                        + " them or change its path_prefix", pair.winner(), c.winner().pathPrefix(), pair.loser(),
                        c.loser().pathPrefix(), c.domain(), c.prefix(), pair.winner(), pair.loser());
            }
        }
        coinciding = Set.copyOf(now);
    }

    /**
     * The HTTP and HTTPS ports close for a draining shutdown: a service enabled from now on, or given another domain or
     * path prefix, is not reachable until the next start, while one enabled before goes on serving the connections
     * still open.
     */
    public synchronized void stopListening() {
        listening = false;
        for (Service service : services.values()) {
            if (service.enabled()) {
                routedAtStop.put(service.id(), route(service));
            }
        }
    }

    private static Route route(Service service) {
        return new Route(service.domain(), service.pathPrefix());
    }

    private record Route(String domain, String pathPrefix) {
    }

    /**
     * Whether the service was created or enabled after {@link #stopListening}, or has a domain or path prefix other
     * than then: no visitor can reach it in this run.
     */
    public synchronized boolean listensFromNextStart(String serviceId) {
        return fromNextStart.contains(serviceId);
    }

    /** Whether a disabled service would serve this Host header value and path if it were enabled. */
    public boolean routesToDisabled(String host, String path) {
        return table.route(host, path).isEmpty() && disabled.route(host, path).isPresent();
    }

    /** The service that serves this Host header value and path, if any. */
    public Optional<Service> route(String host, String path) {
        return table.route(host, path);
    }

    /**
     * The user names of the host's {@code auth: basic} services, disabled ones too (a browser keeps sending what it
     * signed in with): see {@link RouteTable#basicUsers}.
     */
    Set<String> basicUsers(String host) {
        Set<String> users = new HashSet<>(table.basicUsers(host));
        users.addAll(disabled.basicUsers(host));
        return users;
    }

    /**
     * Whether a target could read {@code path} as a path of another service of the host than {@code routed}, the
     * service {@link #route} gave for it (see {@link RouteTable#readsAsAnotherService}).
     */
    boolean readsAsAnotherService(String host, String path, Service routed) {
        return table.readsAsAnotherService(host, path, routed);
    }
}
