package io.picotunnel.server.store;

import java.util.List;

/**
 * Chooses the port of a tcp service whose {@code listen_addr} asks for any ({@code 0.0.0.0:0}), so that the store
 * keeps the real port. Called by the {@link Store} inside the transaction that stores the service: the services it
 * is given are all there are, and no other change comes in before the chosen port is stored and bound.
 */
@FunctionalInterface
public interface PortPicker {

    /** For stores used without the API: a service asking for any port is refused. */
    PortPicker NONE = (candidate, stored) -> {
        throw new ServiceConflictException("listen_addr " + candidate.listenAddr()
                + ": this server cannot choose a port; name one");
    };

    /**
     * The listen address {@code candidate} is to have, its host with a port chosen: one no service in {@code stored}
     * (all services, the candidate's stored self among them) overlaps and no other program listens on. Throws
     * {@link ServiceConflictException} when there is none.
     */
    String pick(Service candidate, List<Service> stored) throws ServiceConflictException;

    /** Whether {@code service} is a tcp service asking for any port (its listen address as the API writes it). */
    static boolean asksForAnyPort(Service service) {
        return service.type() == ServiceType.TCP && service.listenAddr() != null && service.listenAddr().endsWith(":0");
    }
}
