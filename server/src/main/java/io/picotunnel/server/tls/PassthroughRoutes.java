package io.picotunnel.server.tls;

import io.picotunnel.server.access.AccessPolicy;
import io.picotunnel.server.monitor.TrafficCounters;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceConflictException;
import io.picotunnel.server.store.ServiceListener;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.TlsMode;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * The enabled {@code http} services with {@code tls_mode: passthrough}, by domain. A passthrough service
 * owns its whole domain (the server never sees the path), so it cannot share the domain with another
 * enabled http service. As in HTTP routing, an exact domain wins over a wildcard: the name of an enabled
 * http service that terminates TLS is never passed through to a wildcard passthrough service over it.
 */
public final class PassthroughRoutes implements ServiceListener {

    /** Where the raw TLS bytes of a passthrough domain go. */
    public record Target(String serviceId, String tunnelId, String targetAddr, AccessPolicy access,
                         TrafficCounters traffic) {
    }

    /**
     * What {@link #lookup} reads on the event loops: replaced whole at the end of a change, never changed in place,
     * so that a lookup sees a service as it was before the change or after it, never half-changed (an exact passthrough
     * service removed and not yet put back, an http service's name not yet kept from the wildcard over it), when the
     * name would go to the wildcard's target, another service's.
     */
    private record Routes(Map<String, Target> byDomain, Set<String> terminated) {
    }

    private final Function<Service, TrafficCounters> traffic;
    private volatile Routes routes = new Routes(Map.of(), Set.of());
    /** The routes being changed, under this object's lock (API and start-up threads). */
    private final Map<String, Target> byDomain = new HashMap<>();
    /** Every enabled http service by domain, to refuse a passthrough domain shared with another service. */
    private final Map<String, Set<String>> httpServicesByDomain = new HashMap<>();
    /** The domains of enabled http services that terminate TLS: a wildcard passthrough service does not take them. */
    private final Set<String> terminated = new HashSet<>();

    /** Routes whose connections are counted in {@code traffic}'s counters of their service. */
    public PassthroughRoutes(Function<Service, TrafficCounters> traffic) {
        this.traffic = traffic;
    }

    /** Routes whose connections are not counted. */
    public PassthroughRoutes() {
        this(service -> TrafficCounters.NONE);
    }

    /**
     * The passthrough target for a TLS server name: exact domain first; none when an http service that terminates
     * TLS has the exact domain; else a one-label wildcard.
     */
    public Optional<Target> lookup(String serverName) {
        String name = DomainNames.normalize(serverName);
        if (name == null) {
            return Optional.empty();
        }
        Routes now = routes;
        Target exact = now.byDomain().get(name);
        if (exact != null) {
            return Optional.of(exact);
        }
        if (now.terminated().contains(name)) {
            return Optional.empty();
        }
        String wildcard = DomainNames.wildcardOf(name);
        return wildcard == null ? Optional.empty() : Optional.ofNullable(now.byDomain().get(wildcard));
    }

    @Override
    public synchronized void onServiceChange(Service before, Service after) throws ServiceConflictException {
        refuseConflict(after);
        apply(before, after);
    }

    /**
     * A conflict refuses the change in its transaction; the routes change only once it is stored, so that a delete or
     * disable whose commit fails never takes the domain from visitors of a service that stays stored.
     */
    @Override
    public synchronized Staged stage(Service before, Service after) throws ServiceConflictException {
        refuseConflict(after);
        return Staged.onceStored(() -> apply(before, after));
    }

    private void refuseConflict(Service after) throws ServiceConflictException {
        if (routed(after)) {
            String domain = DomainNames.normalize(after.domain());
            Set<String> others = new HashSet<>(httpServicesByDomain.getOrDefault(domain, Set.of()));
            others.remove(after.id());
            Target existing = byDomain.get(domain);
            boolean otherPassthrough = existing != null && !existing.serviceId().equals(after.id());
            if (after.tlsMode() == TlsMode.PASSTHROUGH && !others.isEmpty()) {
                throw new ServiceConflictException("domain " + domain
                        + " is used by another http service; a passthrough service needs its domain to itself");
            }
            if (after.tlsMode() != TlsMode.PASSTHROUGH && otherPassthrough) {
                throw new ServiceConflictException("domain " + domain + " belongs to passthrough service "
                        + existing.serviceId() + "; it cannot be shared");
            }
        }
    }

    private synchronized void apply(Service before, Service after) {
        if (routed(before)) {
            String domain = DomainNames.normalize(before.domain());
            Set<String> ids = httpServicesByDomain.get(domain);
            if (ids != null) {
                ids.remove(before.id());
                if (ids.isEmpty()) {
                    httpServicesByDomain.remove(domain);
                }
            }
            Target current = byDomain.get(domain);
            if (current != null && current.serviceId().equals(before.id())) {
                byDomain.remove(domain);
            }
        }
        if (routed(after)) {
            String domain = DomainNames.normalize(after.domain());
            httpServicesByDomain.computeIfAbsent(domain, d -> new HashSet<>()).add(after.id());
            if (after.tlsMode() == TlsMode.PASSTHROUGH) {
                byDomain.put(domain, new Target(after.id(), after.tunnelId(), after.targetAddr(), after.access(),
                        traffic.apply(after)));
            }
            updateTerminated(domain);
        }
        if (routed(before)) {
            updateTerminated(DomainNames.normalize(before.domain()));
        }
        routes = new Routes(Map.copyOf(byDomain), Set.copyOf(terminated));
    }

    /** Set after both the removal and the addition, so that a service changed in place stays in the set. */
    private void updateTerminated(String domain) {
        if (httpServicesByDomain.containsKey(domain) && !byDomain.containsKey(domain)) {
            terminated.add(domain);
        } else {
            terminated.remove(domain);
        }
    }

    private static boolean routed(Service service) {
        return service != null && service.enabled() && service.type() == ServiceType.HTTP && service.domain() != null;
    }
}
