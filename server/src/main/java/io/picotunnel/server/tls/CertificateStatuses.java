package io.picotunnel.server.tls;

import io.picotunnel.server.acme.AcmeManager;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.TlsMode;

import java.time.Clock;
import java.util.List;
import java.util.Optional;

/**
 * The certificate state of a service for the API: from ACME where it looks after the domain, else from the
 * certificate files; not applicable (all null) for tcp and passthrough services.
 */
public final class CertificateStatuses {

    private final CertificateStore store;
    private final AcmeManager acme;
    private final Clock clock;

    /** @param acme null when ACME is disabled */
    public CertificateStatuses(CertificateStore store, AcmeManager acme, Clock clock) {
        this.store = store;
        this.acme = acme;
        this.clock = clock;
    }

    public CertificateStatus of(Service service) {
        if (service.type() != ServiceType.HTTP || service.tlsMode() == TlsMode.PASSTHROUGH || service.domain() == null) {
            return CertificateStatus.NOT_APPLICABLE;
        }
        if (acme != null && service.enabled()) {
            Optional<CertificateStatus> managed = acme.status(service.domain());
            if (managed.isPresent()) {
                return managed.get();
            }
        }
        return store.select(service.domain())
                .map(certificate -> {
                    List<String> problems = certificate.problemsFor(service.domain(), clock.instant());
                    return problems.isEmpty()
                            ? new CertificateStatus(CertificateStatus.VALID, certificate.notAfter(), null)
                            : new CertificateStatus(CertificateStatus.ERROR, certificate.notAfter(),
                                    "clients refuse the certificate from " + certificate.source() + ": "
                                            + String.join("; ", problems));
                })
                .orElseGet(() -> new CertificateStatus(CertificateStatus.NONE, null, null));
    }
}
