package io.picotunnel.server.acme;

import java.time.Instant;

/**
 * Why ACME has no certificate for a domain yet, kept across restarts: how many orders in a row failed, when the
 * next may be tried, and the last error. A CA limits failures (Let's Encrypt: 5 failed validations per host name
 * per hour), so a restart must not order again before {@code nextAttempt}. {@code caRetryAfter}: when the CA, refusing
 * an order for one of its rate limits, said to come back (its Retry-After), or null.
 */
record OrderFailure(int failures, Instant nextAttempt, String lastError, Instant caRetryAfter) {

    OrderFailure(int failures, Instant nextAttempt, String lastError) {
        this(failures, nextAttempt, lastError, null);
    }
}
