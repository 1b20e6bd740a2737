package io.picotunnel.server.proxy.tcp;

import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceConflictException;
import io.picotunnel.server.store.ServiceListener;

/**
 * A move to an address that overlaps the old one ({@link TcpListener#overlap}: 0.0.0.0:P and 127.0.0.1:P, say), made at
 * once for a change ({@link TcpServices#stage}) since the new address can only be bound once the old one is let go:
 * undone by moving back. When another process took the old address in the moment the move back let the new one go, the service
 * waits for its stored (old) address rather than listen on the new one, which was not stored.
 */
record StagedMoveInPlace(TcpServices services, Service before, Service after) implements ServiceListener.Staged {

    @Override
    public void stored() {
    }

    @Override
    public void undo() throws ServiceConflictException {
        try {
            services.apply(after, before);
        } catch (ServiceConflictException e) {
            throw services.waitForStored(before, e);
        }
    }
}
