package io.picotunnel.client.tunnel;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * How the addresses of one name, tried in turn (those of one family, {@link HappyEyeballs}), share one timeout, as Go's
 * net.Dialer shares it ({@code partialDeadline}): each gets the time left split evenly over the addresses left, but at least
 * {@link #MIN_SHARE} (all that is left, when less is), so that with many addresses the first ones still get a useful
 * try and the last ones what remains; one that fails sooner (a refusal) leaves its time to the next. The connection to
 * the server (or its proxy) and the dials of targets share their timeouts this way.
 */
final class AddressShares {

    /** Go's {@code saneMinimum}: with many addresses, the last ones get less, or nothing. */
    static final Duration MIN_SHARE = Duration.ofSeconds(2);

    private AddressShares() {
    }

    /** The share of the next address, when {@code remainingNanos} are left for {@code addressesLeft} addresses. */
    static long shareNanos(long remainingNanos, int addressesLeft) {
        long share = remainingNanos / addressesLeft;
        long minimum = MIN_SHARE.toNanos();
        return share >= minimum ? share : Math.min(remainingNanos, minimum);
    }

    /**
     * The connect timeout, in ms (at least 1), of the next of {@code addressesLeft} addresses when the time runs out at
     * {@code deadlineNanos} ({@link System#nanoTime()}); 0 when it has run out.
     */
    static int connectTimeoutMillis(long deadlineNanos, int addressesLeft) {
        long remainingNanos = deadlineNanos - System.nanoTime();
        if (remainingNanos <= 0) {
            return 0;
        }
        long millis = TimeUnit.NANOSECONDS.toMillis(shareNanos(remainingNanos, addressesLeft));
        return Math.clamp(millis, 1, Integer.MAX_VALUE);
    }
}
