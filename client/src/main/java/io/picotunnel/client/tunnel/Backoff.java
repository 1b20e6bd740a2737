package io.picotunnel.client.tunnel;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.DoubleSupplier;

/**
 * Reconnect delays: 1 s doubling up to 60 s, each shortened by a random part of up to {@link #JITTER} so
 * that many clients cut off at once do not come back in lockstep. {@link #reset()} once connected.
 */
public final class Backoff {

    public static final Duration INITIAL = Duration.ofSeconds(1);
    public static final Duration MAX = Duration.ofSeconds(60);
    /** The largest fraction of a delay taken off at random. */
    public static final double JITTER = 0.2;

    private final DoubleSupplier random;
    private int attempt;

    public Backoff() {
        this(() -> ThreadLocalRandom.current().nextDouble());
    }

    /** @param random values in [0, 1) */
    public Backoff(DoubleSupplier random) {
        this.random = random;
    }

    /** The delay before the next attempt. */
    public Duration next() {
        long base = Math.min(MAX.toMillis(), INITIAL.toMillis() << Math.min(attempt, 16));
        attempt++;
        return Duration.ofMillis(base - (long) (base * JITTER * random.getAsDouble()));
    }

    public void reset() {
        attempt = 0;
    }
}
