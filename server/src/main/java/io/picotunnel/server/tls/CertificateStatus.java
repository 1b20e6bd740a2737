package io.picotunnel.server.tls;

import java.time.Instant;

/**
 * The certificate state of a service, as the API shows it ({@code cert_status}, {@code cert_expires_at},
 * {@code cert_error}). All fields are null where TLS is not terminated by the server (tcp and passthrough
 * services). {@code status} is one of {@code none}, {@code pending}, {@code valid}, {@code error}.
 */
public record CertificateStatus(String status, Instant expiresAt, String error) {

    public static final String NONE = "none";
    public static final String PENDING = "pending";
    public static final String VALID = "valid";
    public static final String ERROR = "error";

    public static final CertificateStatus NOT_APPLICABLE = new CertificateStatus(null, null, null);
}
