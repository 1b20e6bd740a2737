package io.picotunnel.client.tunnel;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.DoubleSupplier;
import java.util.function.LongSupplier;

/**
 * Reconnect delays: {@link #INITIAL} doubling up to {@link #MAX}, each shortened by a random part of up to {@link #JITTER} so
 * that many clients cut off at once do not come back in lockstep. The delays start over only after a
 * connection stayed up for {@link #DEFAULT_STABLE_AFTER}: a server that accepts the upgrade and drops the
 * connection at once is retried less and less often, as one that refuses it is. A server that said it is stopping is
 * retried every {@link #INITIAL} for {@link #RESTART_WAIT}, as it is about to come back (see {@link #serverStopping()}),
 * and less often while it goes on draining beyond that (see {@link #LONG_DRAIN_MAX}).
 *
 * <p>Not thread-safe: the client uses it from its one event loop.
 */
public final class Backoff {

    public static final Duration INITIAL = Duration.ofSeconds(1);
    public static final Duration MAX = Duration.ofSeconds(60);
    /** The largest fraction of a delay taken off at random. */
    public static final double JITTER = 0.2;
    /** How long a connection must have lasted for the delays to start over. */
    public static final Duration DEFAULT_STABLE_AFTER = Duration.ofSeconds(30);
    /**
     * How long after the server said it is stopping the client redials every {@link #INITIAL} (with jitter) without the
     * delays growing: a drain of the default 30 s and a start-up, with room to spare.
     */
    public static final Duration RESTART_WAIT = Duration.ofSeconds(60);
    /**
     * The longest delay between redials of a server that goes on saying it is stopping beyond {@link #RESTART_WAIT} (a
     * --shutdown-grace of minutes): from then the delay is a sixth of the drain beyond that wait, so its restart is
     * picked up at most a sixth of that late, and never more than this, while 1,000 tunnels redial a server draining
     * for hours some 33 times a second, not 200 (a steady 5 s Retry-After).
     */
    public static final Duration LONG_DRAIN_MAX = Duration.ofSeconds(30);
    private static final int LONG_DRAIN_SHARE = 6;

    private final DoubleSupplier random;
    private final Duration stableAfter;
    private final LongSupplier nanoClock;
    /** {@link #INITIAL} and {@link #MAX}, but for tests that drive many attempts quickly. */
    private final Duration initial;
    private final Duration max;
    private int attempt;
    private boolean connected;
    private long connectedAt;
    /** The last connection ended with a GoAway before it lasted {@code stableAfter}, and nothing failed since. */
    private boolean goneAwayEarly;
    /**
     * When the wait for the server's restart ends: {@link #RESTART_WAIT} after it last said it is stopping, or after the
     * redial it asked for when that comes later (its Retry-After); meaningful while {@link #serverStopping} holds.
     */
    private long restartWaitEnds;
    /** When the server first said it is stopping, in the stop not over yet; meaningful while {@link #serverStopping} holds. */
    private long firstStoppingAt;
    private boolean serverStopping;
    /** The last attempt was answered that the server still drains ({@link #serverDraining()}), and no delay given since. */
    private boolean drainingAnswered;

    public Backoff() {
        this(() -> ThreadLocalRandom.current().nextDouble());
    }

    /** @param random values in [0, 1) */
    public Backoff(DoubleSupplier random) {
        this(random, DEFAULT_STABLE_AFTER, System::nanoTime);
    }

    /**
     * @param random      values in [0, 1)
     * @param stableAfter how long a connection must last for the delays to start over
     * @param nanoClock   a monotonic clock in nanoseconds, such as {@code System::nanoTime}
     */
    public Backoff(DoubleSupplier random, Duration stableAfter, LongSupplier nanoClock) {
        this(random, stableAfter, nanoClock, INITIAL, MAX);
    }

    /**
     * Delays from {@code initial} doubling up to {@code max}, for tests that drive many failed attempts in little time:
     * the redials while a server restarts stay {@link #INITIAL} apart.
     */
    Backoff(DoubleSupplier random, Duration stableAfter, LongSupplier nanoClock, Duration initial, Duration max) {
        if (stableAfter.isNegative()) {
            throw new IllegalArgumentException("stableAfter must not be negative");
        }
        this.random = random;
        this.stableAfter = stableAfter;
        this.nanoClock = nanoClock;
        this.initial = initial;
        this.max = max;
    }

    /** A connection is up: if it lasts {@code stableAfter}, the delays start over when it ends. */
    public void connected() {
        serverStopping = false;
        drainingAnswered = false;
        connected = true;
        connectedAt = nanoClock.getAsLong();
    }

    /** The connection ended: the delays start over if it lasted long enough, else they go on growing. */
    public void disconnected() {
        if (connected && nanoClock.getAsLong() - connectedAt >= stableAfter.toNanos()) {
            attempt = 0;
        }
        connected = false;
    }

    /** The delay before the next attempt (after {@link #disconnected()} when a connection was up). */
    public Duration next() {
        goneAwayEarly = false;
        boolean drainingAnswer = drainingAnswered;
        drainingAnswered = false;
        if (waitingForRestart()) {
            disconnected();
            // Only an answer that it still drains slows the redials: a server that no longer answers so (refused,
            // reset, timed out) has ended its drain, and its restart is near.
            return jittered((drainingAnswer ? drainingPace() : INITIAL).toMillis());
        }
        return grow();
    }

    /**
     * The delay after an answer that the server still drains: {@link #INITIAL} for the first {@link #RESTART_WAIT} of
     * its stop, then a sixth of the stop beyond that, up to {@link #LONG_DRAIN_MAX}. It depends on how long the server
     * has been stopping, not on how many times it said so (its Retry-After sets that), so a restart is never put off by
     * more than a sixth of the drain so far.
     */
    private Duration drainingPace() {
        Duration beyondWait = stoppingFor().minus(RESTART_WAIT).dividedBy(LONG_DRAIN_SHARE);
        if (beyondWait.compareTo(INITIAL) <= 0) {
            return INITIAL;
        }
        return beyondWait.compareTo(LONG_DRAIN_MAX) < 0 ? beyondWait : LONG_DRAIN_MAX;
    }

    /**
     * The server said it is stopping (its close status 4000, its 503 while it drains, or no longer listening right after
     * its GoAway): it is restarting, most likely, and is redialled every {@link #INITIAL} for {@link #RESTART_WAIT} from
     * now, then with delays that grow from {@link #INITIAL} again. The attempts made while it drained do not count. Said
     * again (its 503 on each redial while it drains), the wait starts over: a drain of any length is followed by a
     * restart, redialled less often once the stop lasts beyond {@link #RESTART_WAIT} ({@link #serverDraining()}). Said
     * after the wait lapsed, it is a new stop.
     */
    public void serverStopping() {
        if (!waitingForRestart()) {
            firstStoppingAt = nanoClock.getAsLong();
        }
        serverStopping = true;
        drainingAnswered = false;
        restartWaitEnds = nanoClock.getAsLong() + RESTART_WAIT.toNanos();
        attempt = 0;
    }

    /**
     * The server answered the last attempt that it is stopping and still drains (its 503 server_stopping), as
     * {@link #serverStopping()}: the next delay ({@link #next()}) is slower the longer the stop
     * has lasted. Any other failure while it restarts is redialled after {@link #INITIAL}, as its drain is over.
     */
    public void serverDraining() {
        serverStopping();
        drainingAnswered = true;
    }

    /**
     * The server answered as only a server that runs and no longer drains does (its 429 too_many_attempts): its stop is
     * over, and the delays grow from {@link #INITIAL} as after any failure, not at the pace of its restart.
     */
    public void serverBack() {
        serverStopping = false;
        drainingAnswered = false;
    }

    /**
     * Whether the server said it is stopping less than {@link #RESTART_WAIT} ago, or less than that before the redial
     * its Retry-After put off, and no connection was made since.
     */
    public boolean waitingForRestart() {
        return serverStopping && nanoClock.getAsLong() - restartWaitEnds < 0;
    }

    /**
     * How long ago the server first said it is stopping, in its latest stop (one said again after the restart wait
     * lapsed is a new stop), also once that wait is over ({@link #restartOverdue()}); zero when it never said so, or
     * a connection was made since.
     */
    public Duration stoppingFor() {
        return serverStopping ? Duration.ofNanos(nanoClock.getAsLong() - firstStoppingAt) : Duration.ZERO;
    }

    /** Whether the server said it is stopping {@link #RESTART_WAIT} ago or more, and no connection was made since. */
    public boolean restartOverdue() {
        return serverStopping && !waitingForRestart();
    }

    private Duration grow() {
        disconnected();
        long base = Math.min(max.toMillis(), initial.toMillis() << Math.min(attempt, 16));
        attempt++;
        return jittered(base);
    }

    private Duration jittered(long base) {
        return Duration.ofMillis(base - (long) (base * JITTER * random.getAsDouble()));
    }

    /**
     * The delay before the next attempt after the server asked for {@code serverWait} ({@code Retry-After}; null
     * when it did not): no less than that wait (at most {@link RetryAfter#MAX}) lengthened by up to {@link #JITTER}
     * at random, so that clients refused at once do not come back together when it ends. The backoff goes on
     * growing meanwhile, unless the server is restarting ({@link #waitingForRestart()}): then a wait it asked for in
     * its answer that it still drains ({@link #serverDraining()}) that ends beyond {@link #RESTART_WAIT} keeps the stop
     * going until that long after the redial, so the answer to it is the same stop. Any other answer's wait (a 429
     * lockout, a proxy's 503) does not: else answers that are not the server's stop would keep the wait going for ever.
     */
    public Duration next(Duration serverWait) {
        boolean drainingAnswer = drainingAnswered;
        Duration delay = next();
        if (serverWait == null || serverWait.isNegative()) {
            return delay;
        }
        long wait = Math.min(serverWait.toMillis(), RetryAfter.MAX.toMillis());
        long spread = wait + (long) (wait * JITTER * random.getAsDouble());
        if (spread <= delay.toMillis()) {
            return delay;
        }
        long redialAt = nanoClock.getAsLong() + Duration.ofMillis(spread).toNanos();
        if (drainingAnswer && waitingForRestart() && redialAt - restartWaitEnds > 0) {
            // A drain answered with a Retry-After over a minute: without this each answer would be a new stop, its
            // long-drain WARN never written.
            restartWaitEnds = redialAt + RESTART_WAIT.toNanos();
        }
        return Duration.ofMillis(spread);
    }

    /**
     * The delay after the server's GoAway: a moment spread over {@code spread}, whatever failed before the connection
     * (a server restarting, or one that revokes the token, is redialled at once, not after the delay the failures before
     * grew to). Only a GoAway on the next connection too, again before it lasted, gets the next delay as after any drop,
     * so a server that says GoAway as soon as it is connected is not dialled again in a loop.
     */
    public Duration afterGoAway(Duration spread) {
        boolean lasted = connected && nanoClock.getAsLong() - connectedAt >= stableAfter.toNanos();
        if (!lasted && goneAwayEarly) {
            return grow();
        }
        goneAwayEarly = !lasted;
        if (lasted) {
            disconnected();
        }
        connected = false;
        return Duration.ofMillis((long) (spread.toMillis() * random.getAsDouble()));
    }

    /** Starts over at once, whatever the last connection lasted. */
    public void reset() {
        attempt = 0;
        serverStopping = false;
        drainingAnswered = false;
        connected = false;
        goneAwayEarly = false;
    }
}
