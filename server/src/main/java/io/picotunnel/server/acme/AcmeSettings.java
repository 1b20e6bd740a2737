package io.picotunnel.server.acme;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * How the server talks to its ACME CA. {@code directory}: blank for Let's Encrypt production,
 * {@code staging} for Let's Encrypt staging, or any ACME directory URL. {@code trustedCa}: a PEM file of CA
 * certificates to trust for the connection to a private ACME CA (null: the JDK's trust store).
 * {@code challengeTypes}: the challenges to use, tried in turn after failures.
 */
public record AcmeSettings(
        String email,
        String directory,
        Path trustedCa,
        List<String> challengeTypes,
        Duration checkInterval,
        Duration firstRetry,
        Duration maxRetry,
        Duration timeout) {

    public static final String HTTP_01 = "http-01";
    public static final String TLS_ALPN_01 = "tls-alpn-01";
    /** How often certificates are looked at for renewal unless set. */
    public static final Duration DEFAULT_CHECK_INTERVAL = Duration.ofMinutes(1);
    /** The wait after a first failure unless set; it doubles after each further one. */
    public static final Duration DEFAULT_FIRST_RETRY = Duration.ofMinutes(5);
    /** The longest wait after failures unless set. */
    public static final Duration DEFAULT_MAX_RETRY = Duration.ofHours(12);
    /** How long each wait for the CA may take unless set. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(2);
    /** The longest wait for the CA's answer to one request, up to its headers, unless {@code timeout} is shorter. */
    static final Duration LONGEST_REQUEST = Duration.ofSeconds(30);
    /** The waits of {@code timeout} in one order: validation, ready, issued. */
    static final int ORDER_WAITS = 3;
    /** The requests of one order that {@link #orderDeadline} leaves room for, around its waits. */
    static final int ORDER_REQUESTS = 15;

    public AcmeSettings {
        challengeTypes = challengeTypes == null || challengeTypes.isEmpty()
                ? List.of(HTTP_01, TLS_ALPN_01) : List.copyOf(challengeTypes);
        for (String type : challengeTypes) {
            if (!type.equals(HTTP_01) && !type.equals(TLS_ALPN_01)) {
                throw new IllegalArgumentException("unsupported ACME challenge type " + type);
            }
        }
        checkInterval = checkInterval == null ? DEFAULT_CHECK_INTERVAL : checkInterval;
        firstRetry = firstRetry == null ? DEFAULT_FIRST_RETRY : firstRetry;
        maxRetry = maxRetry == null ? DEFAULT_MAX_RETRY : maxRetry;
        timeout = timeout == null ? DEFAULT_TIMEOUT : timeout;
    }

    /** Production defaults: both challenges and the {@code DEFAULT_} waits. */
    public static AcmeSettings of(String email, String directory, Path trustedCa) {
        return new AcmeSettings(email, directory, trustedCa, null, null, null, null, null);
    }

    /** The ACME directory URI: acme4j's {@code acme://letsencrypt.org} scheme for Let's Encrypt. */
    public URI directoryUri() {
        String d = directory == null ? "" : directory.strip();
        return switch (d.toLowerCase(Locale.ROOT)) {
            case "", "production", "letsencrypt" -> URI.create("acme://letsencrypt.org");
            case "staging" -> URI.create("acme://letsencrypt.org/staging");
            default -> URI.create(d);
        };
    }

    /**
     * The longest wait for the CA's answer to one request, up to its headers: {@link #LONGEST_REQUEST}, or
     * {@code timeout} when that is shorter.
     */
    public Duration requestTimeout() {
        return timeout.compareTo(LONGEST_REQUEST) < 0 ? timeout : LONGEST_REQUEST;
    }

    /**
     * The longest one order may take as a whole: its three waits (validation, ready, issued) of {@code timeout} each and
     * the requests around them. The HTTP client bounds a request's wait for the answer's headers only, so a CA (or a
     * connection dropped on the way) that stalls in the middle of an answer's body is stopped by this deadline alone.
     */
    public Duration orderDeadline() {
        return timeout.multipliedBy(ORDER_WAITS).plus(requestTimeout().multipliedBy(ORDER_REQUESTS));
    }

    /** The wait before retry number {@code failures} (1 = after the first failure): doubling, capped. */
    public Duration retryDelay(int failures) {
        Duration delay = firstRetry;
        for (int i = 1; i < failures && delay.compareTo(maxRetry) < 0; i++) {
            delay = delay.multipliedBy(2);
        }
        return delay.compareTo(maxRetry) > 0 ? maxRetry : delay;
    }
}
