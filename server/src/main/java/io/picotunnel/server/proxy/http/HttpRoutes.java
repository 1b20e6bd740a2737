package io.picotunnel.server.proxy.http;

import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceListener;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The routes of the HTTP proxy, following the store: every service change rebuilds an immutable
 * {@link RouteTable} that replaces the previous one at once, so lookups on the event loops never lock and
 * never see a half-applied change.
 */
public final class HttpRoutes implements ServiceListener {

    private final Map<String, Service> services = new HashMap<>();
    private volatile RouteTable table = RouteTable.EMPTY;
    /** The disabled http services, as if enabled: visitors of one are told it is turned off, not that it is unknown. */
    private volatile RouteTable disabled = RouteTable.EMPTY;

    @Override
    public synchronized void onServiceChange(Service before, Service after) {
        if (before != null) {
            services.remove(before.id());
        }
        if (after != null) {
            services.put(after.id(), after);
        }
        table = RouteTable.of(services.values());
        disabled = RouteTable.of(services.values().stream().filter(s -> !s.enabled()).map(s -> new Service(s.id(),
                s.tunnelId(), s.type(), s.domain(), s.pathPrefix(), s.tlsMode(), s.listenAddr(), s.targetAddr(), true,
                s.createdAt(), s.httpsRedirect())).toList());
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
     * Whether a target could read {@code path} as a path of another service of the host than {@code routed}, the
     * service {@link #route} gave for it (see {@link RouteTable#readsAsAnotherService}).
     */
    boolean readsAsAnotherService(String host, String path, Service routed) {
        return table.readsAsAnotherService(host, path, routed);
    }
}
