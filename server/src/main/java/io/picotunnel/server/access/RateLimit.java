package io.picotunnel.server.access;

/**
 * A service's {@code rate_limit}: each visitor address may make {@code burst} requests (or, for tcp and
 * passthrough services, new connections) at once, and {@code perSecond} more every second after that.
 */
public record RateLimit(double perSecond, int burst) {

    public static final double MAX_PER_SECOND = 1_000_000;
    public static final int MAX_BURST = 1_000_000;

    public RateLimit {
        if (!(perSecond > 0) || perSecond > MAX_PER_SECOND) {
            throw new IllegalArgumentException("per_second must be a number above 0 and at most " + (long) MAX_PER_SECOND);
        }
        if (burst < 1 || burst > MAX_BURST) {
            throw new IllegalArgumentException("burst must be a whole number from 1 to " + MAX_BURST);
        }
    }
}
