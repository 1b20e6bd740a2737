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

    @Override
    public synchronized void onServiceChange(Service before, Service after) {
        if (before != null) {
            services.remove(before.id());
        }
        if (after != null) {
            services.put(after.id(), after);
        }
        table = RouteTable.of(services.values());
    }

    /** The service that serves this Host header value and path, if any. */
    public Optional<Service> route(String host, String path) {
        return table.route(host, path);
    }
}
