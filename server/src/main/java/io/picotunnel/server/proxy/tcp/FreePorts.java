package io.picotunnel.server.proxy.tcp;

import io.picotunnel.server.config.Setting;
import io.picotunnel.server.net.HostPort;
import io.picotunnel.server.net.PortRanges;
import io.picotunnel.server.store.PortPicker;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceConflictException;
import io.picotunnel.server.store.ServiceType;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * Chooses a free port for a tcp service whose listen address asks for any ({@code 0.0.0.0:0}), as bore and frp do for
 * a remote port 0: from the ports tcp services may use ({@code PICOTUNNEL_TCP_PORTS}, by default 1024-65535), starting
 * at a random one and going through all of them, the first that no stored service overlaps, that is none of the
 * server's own listen addresses, and that another program does not hold (a bind on the service's host, with the
 * listener's own options, says so). The store calls it inside the transaction that stores the service, so two
 * services created at once cannot get the same port; and again when another program took the port before the
 * service's listener bound it.
 */
public final class FreePorts implements PortPicker {

    private final PortRanges allowed;
    private final List<HostPort> reserved;
    private final RandomGenerator random;

    /** {@code reserved}: the server's own listen addresses (one with port 0 counts once bound, by the bind). */
    public FreePorts(PortRanges allowed, List<HostPort> reserved) {
        this(allowed, reserved, RandomGenerator.getDefault());
    }

    FreePorts(PortRanges allowed, List<HostPort> reserved, RandomGenerator random) {
        this.allowed = allowed;
        this.reserved = List.copyOf(reserved);
        this.random = random;
    }

    @Override
    public String pick(Service candidate, List<Service> stored) throws ServiceConflictException {
        HostPort wanted = HostPort.parse(candidate.listenAddr(), HostPort.Rules.SERVICE_REQUEST);
        InetAddress host = bindableHost(wanted);
        List<HostPort> taken = taken(stored);
        int size = allowed.size();
        int start = random.nextInt(size);
        for (int i = 0; i < size; i++) {
            int port = allowed.portAt((int) (((long) start + i) % size));
            HostPort address = new HostPort(wanted.host(), port);
            if (taken.stream().noneMatch(address::overlaps) && canBind(new InetSocketAddress(host, port))) {
                return address.toString();
            }
        }
        throw new ServiceConflictException("listen_addr " + wanted + ": no port is free on this server among those tcp"
                + " services may use (" + allowed + "); delete a tcp service you no longer need, name a port, or have"
                + " the operator widen " + Setting.TCP_PORTS.envVar());
    }

    /** The address to bind, refused at once when it can be bound on no port (not resolved, not this host's). */
    private static InetAddress bindableHost(HostPort wanted) throws ServiceConflictException {
        InetSocketAddress any = wanted.toBindAddress();
        if (any.isUnresolved()) {
            throw new ServiceConflictException("cannot listen on " + wanted + ": the host name does not resolve to an"
                    + " address");
        }
        try (ServerSocket probe = new ServerSocket()) {
            probe.bind(any);
        } catch (IOException e) {
            throw new ServiceConflictException("cannot listen on " + wanted + ": " + e.getMessage(), e);
        }
        return any.getAddress();
    }

    private List<HostPort> taken(List<Service> stored) {
        List<HostPort> taken = new ArrayList<>();
        for (HostPort own : reserved) {
            if (own.port() != 0) {
                taken.add(own);
            }
        }
        for (Service service : stored) {
            if (service.type() == ServiceType.TCP) {
                try {
                    taken.add(HostPort.parse(service.listenAddr(), HostPort.Rules.SERVICE_LISTEN));
                } catch (IllegalArgumentException e) {
                    // Stored before a rule was tightened: it cannot be bound, so it takes no port either.
                }
            }
        }
        return taken;
    }

    /** Whether the service's listener could bind {@code address} now (it sets SO_REUSEADDR too). */
    private static boolean canBind(InetSocketAddress address) {
        try (ServerSocket probe = new ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(address);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
