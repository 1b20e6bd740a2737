package io.picotunnel.server.proxy.tcp;

import io.picotunnel.server.store.ServiceListener;

/**
 * A new listener bound for a change ({@link TcpServices#stage}): it stays if the change is stored, else it closes and
 * the service is back to how it was ({@code waited}: waiting for its port, when not null).
 */
record StagedBind(TcpServices services, String id, TcpListener listener, TcpServices.Waiting waited)
        implements ServiceListener.Staged {

    @Override
    public void stored() {
        TcpServices.logListening(id, listener);
    }

    @Override
    public void undo() {
        synchronized (services) {
            listener.close();
            services.forget(id, listener, waited);
            services.claim(null);
        }
    }
}
