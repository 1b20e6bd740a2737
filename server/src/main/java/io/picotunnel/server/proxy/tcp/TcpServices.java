package io.picotunnel.server.proxy.tcp;

import io.netty.channel.EventLoopGroup;
import io.picotunnel.server.monitor.TrafficCounters;
import io.picotunnel.server.net.HostPort;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceConflictException;
import io.picotunnel.server.store.ServiceListener;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.tunnel.TunnelRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * Keeps one listening socket per enabled {@code tcp} service, following the store: bound on create or
 * enable, unbound on disable or delete (which also ends its connections), rebound on a new listen address
 * (the new one first, so a failed rebind leaves the old one serving). Every accepted connection becomes a
 * stream to the tunnel's client.
 */
public final class TcpServices implements ServiceListener, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(TcpServices.class);

    private final TunnelRegistry registry;
    private final EventLoopGroup acceptors;
    private final EventLoopGroup workers;
    /** By service id; changed only under this object's lock (API and start-up threads, never the data plane). */
    private final Map<String, TcpListener> listeners = new HashMap<>();
    private final Function<Service, TrafficCounters> counters;

    public TcpServices(TunnelRegistry registry, EventLoopGroup acceptors, EventLoopGroup workers) {
        this(registry, acceptors, workers, service -> TrafficCounters.NONE);
    }

    /** {@code counters} gives each service's lasting traffic counters. */
    public TcpServices(TunnelRegistry registry, EventLoopGroup acceptors, EventLoopGroup workers,
                       Function<Service, TrafficCounters> counters) {
        this.registry = registry;
        this.acceptors = acceptors;
        this.workers = workers;
        this.counters = counters;
    }

    @Override
    public synchronized void onServiceChange(Service before, Service after) throws ServiceConflictException {
        String id = after != null ? after.id() : before.id();
        TcpListener current = listeners.get(id);
        if (!shouldListen(after)) {
            if (current != null) {
                listeners.remove(id);
                current.close();
                LOG.info("tcp service {} stopped listening", id);
            }
            return;
        }
        InetSocketAddress address;
        try {
            address = HostPort.parse(after.listenAddr(), HostPort.Rules.SERVICE_LISTEN).toBindAddress();
        } catch (IllegalArgumentException e) {
            throw new ServiceConflictException("listen_addr " + e.getMessage(), e);
        }
        try {
            if (current == null) {
                TcpListener listener = new TcpListener(after, registry, acceptors, workers, counters.apply(after));
                listener.listen(address);
                listeners.put(id, listener);
            } else if (current.service().listenAddr().equals(after.listenAddr()) && current.isListening()) {
                current.update(after);
                return;
            } else {
                current.relisten(address, after);
            }
        } catch (IOException e) {
            throw new ServiceConflictException("cannot listen on " + describe(address) + ": " + e.getMessage(), e);
        }
        LOG.info("tcp service {} listening on {} for target {}", id, describe(listeners.get(id).address()),
                after.targetAddr());
    }

    private static boolean shouldListen(Service service) {
        return service != null && service.type() == ServiceType.TCP && service.enabled();
    }

    /** Where the service is listening, if it is. */
    public synchronized Optional<InetSocketAddress> boundAddress(String serviceId) {
        return Optional.ofNullable(listeners.get(serviceId)).map(TcpListener::address);
    }

    /** Connections of the service open right now. */
    public synchronized int openConnections(String serviceId) {
        TcpListener listener = listeners.get(serviceId);
        return listener == null ? 0 : listener.openConnections();
    }

    /** Byte counts of the service since it started listening, if it is. */
    public synchronized Optional<TcpTraffic> traffic(String serviceId) {
        return Optional.ofNullable(listeners.get(serviceId)).map(TcpListener::traffic);
    }

    /** Stops accepting visitors on every tcp service; their open connections go on (a draining shutdown). */
    public synchronized void stopAccepting() {
        for (TcpListener listener : listeners.values()) {
            listener.closeListening();
        }
    }

    @Override
    public synchronized void close() {
        for (TcpListener listener : listeners.values()) {
            listener.close();
        }
        listeners.clear();
    }

    static String describe(InetSocketAddress address) {
        if (address == null) {
            return "nothing";
        }
        String host = address.getAddress() == null ? address.getHostString() : address.getAddress().getHostAddress();
        return host.contains(":") ? "[" + host + "]:" + address.getPort() : host + ":" + address.getPort();
    }
}
