package io.picotunnel.server.proxy.tcp;

import io.netty.channel.Channel;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceListener;

/**
 * A listener bound to a new address beside its old one ({@code old}) for a change ({@link TcpServices#stage}): the
 * old one is let go once the move is stored; an undone move lets go of the new one and serves {@code previous} on the
 * old one again ({@code waited}: the service was waiting for its port, when not null).
 */
record StagedMove(TcpServices services, String id, TcpListener listener, Channel old, Service previous,
                  TcpServices.Waiting waited) implements ServiceListener.Staged {

    @Override
    public void stored() {
        synchronized (services) {
            listener.release(old);
            services.claim(null);
            TcpServices.logListening(id, listener);
        }
    }

    @Override
    public void undo() {
        synchronized (services) {
            boolean accepting = services.accepting();
            if (!accepting) {
                listener.release(old);
            }
            listener.backTo(accepting ? old : null, previous);
            if (waited != null) {
                services.forget(id, listener, waited);
            }
            services.claim(null);
        }
    }
}
