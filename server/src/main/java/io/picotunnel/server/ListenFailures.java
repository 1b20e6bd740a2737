package io.picotunnel.server;

import io.picotunnel.server.events.EventLog;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceConflictException;
import io.picotunnel.server.store.ServiceListener;

/** Passes service changes on to the tcp listeners and records an event when one cannot listen. */
final class ListenFailures implements ServiceListener {

    private final ServiceListener listeners;
    private final EventLog events;

    ListenFailures(ServiceListener listeners, EventLog events) {
        this.listeners = listeners;
        this.events = events;
    }

    @Override
    public void onServiceChange(Service before, Service after) throws ServiceConflictException {
        stage(before, after).stored();
    }

    @Override
    public Staged stage(Service before, Service after) throws ServiceConflictException {
        try {
            return listeners.stage(before, after);
        } catch (ServiceConflictException e) {
            if (after != null) {
                record(events, after, e);
            }
            throw e;
        }
    }

    static void record(EventLog events, Service service, ServiceConflictException e) {
        events.record(EventLog.SERVICE_LISTEN_FAILED, service.tunnelId(), service.id(),
                "Service " + (service.listenAddr() != null ? service.listenAddr() : service.domain())
                        + " could not listen: " + e.getMessage());
    }
}
