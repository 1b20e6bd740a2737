package io.picotunnel.server.acme;

import java.time.Duration;
import java.time.Instant;

/** Told when ACME obtained or renewed a certificate, or failed to (for events). Called on the ACME thread. */
public interface CertificateOutcomes {

    CertificateOutcomes NONE = new CertificateOutcomes() {
        @Override
        public void issued(String domain, boolean renewal, Instant notAfter) {
        }

        @Override
        public void failed(String domain, boolean renewal, String error, Duration retryIn) {
        }
    };

    void issued(String domain, boolean renewal, Instant notAfter);

    void failed(String domain, boolean renewal, String error, Duration retryIn);
}
