package io.picotunnel.server;

import io.picotunnel.protocol.config.Durations;
import io.picotunnel.server.acme.CertificateOutcomes;
import io.picotunnel.server.events.EventLog;
import io.picotunnel.server.store.Rfc3339;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.Store;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/** Records certificates issued or failed as events of the service (and tunnel) whose domain it is. */
final class CertificateEvents implements CertificateOutcomes {

    private final EventLog events;
    private final Store store;

    CertificateEvents(EventLog events, Store store) {
        this.events = events;
        this.store = store;
    }

    @Override
    public void issued(String domain, boolean renewal, Instant notAfter) {
        Optional<Service> service = serviceOf(domain);
        events.record(EventLog.CERTIFICATE_ISSUED, service.map(Service::tunnelId).orElse(null),
                service.map(Service::id).orElse(null), "Certificate for " + domain + (renewal ? " renewed" : " issued")
                        + ", valid until " + Rfc3339.format(notAfter));
    }

    @Override
    public void failed(String domain, boolean renewal, String error, Duration retryIn) {
        Optional<Service> service = serviceOf(domain);
        events.record(EventLog.CERTIFICATE_FAILED, service.map(Service::tunnelId).orElse(null),
                service.map(Service::id).orElse(null), "Certificate " + (renewal ? "renewal" : "request") + " for "
                        + domain + " failed: " + error + " (next try in " + Durations.format(retryIn) + ")");
    }

    private Optional<Service> serviceOf(String domain) {
        return store.services().stream().filter(service -> domain.equals(service.domain())).findFirst();
    }
}
