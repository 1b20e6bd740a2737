package io.picotunnel.client.tunnel;

import io.netty.channel.Channel;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import io.picotunnel.protocol.net.OnLoop;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

/**
 * Connects to one of a name's addresses as Go's net.Dialer does (dialParallel, RFC 6555 and 8305 in spirit): the
 * addresses of the first address's family (the primaries) are tried in turn; if none has connected after
 * {@link #FALLBACK_DELAY}, or all of them failed sooner, the addresses of the other family (the fallbacks) are tried in
 * turn beside them. The first connection made wins; the other attempt is cancelled, or its connection closed. Each
 * family shares the one timeout, which ends at the deadline for both, over its own addresses ({@link AddressShares}),
 * so a silent IPv4 address costs a name whose IPv6 address works 300 ms, not its share of the timeout.
 *
 * <p>When all fail, the caller is told what each address did; the first address's failure is the one to report, as
 * Go's dialer reports it. Not thread-safe: {@link #start} and {@link #cancel} on {@code executor}, where the outcome is
 * told too; the attempts may connect on other event loops.
 */
final class HappyEyeballs {

    /** Go's default {@code FallbackDelay}, RFC 6555's 150 to 250 ms and a bit. */
    static final Duration FALLBACK_DELAY = Duration.ofMillis(300);

    /** Starts the connection to one address, which has {@code connectTimeoutMillis} (at least 1) to connect. */
    @FunctionalInterface
    interface Attempt {
        ChannelFuture connect(InetAddress address, int connectTimeoutMillis);
    }

    /** How the race ended, told once on the race's executor (never after {@link #cancel}). */
    interface Outcome {
        void connected(Channel channel);

        /** @param failures why each address failed, in the name's order; null for one not tried (no time was left) */
        void failed(Throwable[] failures);
    }

    private final EventExecutor executor;
    private final InetAddress[] addresses;
    private final long deadlineNanos;
    private final Duration fallbackDelay;
    private final Attempt attempt;
    private final Outcome outcome;
    private final Throwable[] failures;
    private final Family primaries;
    private final Family fallbacks;
    private ScheduledFuture<?> fallbackTimer;
    private boolean over;
    private boolean cancelled;

    /** @param deadlineNanos when the time for all of them runs out ({@link System#nanoTime()}) */
    HappyEyeballs(EventExecutor executor, InetAddress[] addresses, long deadlineNanos, Attempt attempt,
            Outcome outcome) {
        this(executor, addresses, deadlineNanos, FALLBACK_DELAY, attempt, outcome);
    }

    HappyEyeballs(EventExecutor executor, InetAddress[] addresses, long deadlineNanos, Duration fallbackDelay,
            Attempt attempt, Outcome outcome) {
        this.executor = executor;
        this.addresses = addresses.clone();
        this.deadlineNanos = deadlineNanos;
        this.fallbackDelay = fallbackDelay;
        this.attempt = attempt;
        this.outcome = outcome;
        this.failures = new Throwable[addresses.length];
        boolean firstIsIpv4 = addresses[0] instanceof Inet4Address;
        primaries = new Family(IntStream.range(0, addresses.length)
                .filter(i -> addresses[i] instanceof Inet4Address == firstIsIpv4).toArray());
        fallbacks = new Family(IntStream.range(0, addresses.length)
                .filter(i -> addresses[i] instanceof Inet4Address != firstIsIpv4).toArray());
    }

    void start() {
        primaries.tryNext();
        if (!over && fallbacks.size() > 0 && !fallbacks.started) {
            fallbackTimer = executor.schedule(this::startFallbacks, fallbackDelay.toNanos(), TimeUnit.NANOSECONDS);
        }
    }

    /**
     * Ends the race without an outcome (the stream or the attempt it was for has gone): attempts under way are
     * cancelled, and one that connects all the same is reset.
     */
    void cancel() {
        if (over) {
            return;
        }
        over = true;
        cancelled = true;
        stopFallbackTimer();
        primaries.abandon(true);
        fallbacks.abandon(true);
    }

    private void startFallbacks() {
        if (!over && !fallbacks.started) {
            stopFallbackTimer();
            fallbacks.tryNext();
        }
    }

    private void stopFallbackTimer() {
        if (fallbackTimer != null) {
            fallbackTimer.cancel(false);
        }
    }

    private void onAttempted(Family family, int index, ChannelFuture attempted) {
        if (family.pending == attempted) {
            family.pending = null;
        }
        if (over) {
            if (attempted.isSuccess()) {
                close(attempted.channel(), cancelled);
            }
            return;
        }
        if (attempted.isSuccess()) {
            over = true;
            stopFallbackTimer();
            (family == primaries ? fallbacks : primaries).abandon(false);
            outcome.connected(attempted.channel());
            return;
        }
        failures[index] = attempted.cause();
        family.tryNext();
    }

    /**
     * What a race that failed ({@link Outcome#failed}) failed with: the first address tried's failure, as Go's dialer
     * reports a dial ("the error from the first address is most relevant"); with none tried (the time was up before
     * the first), a {@link ConnectTimeoutException} saying {@code noneTried}.
     */
    static Throwable firstFailure(Throwable[] failures, String noneTried) {
        return Arrays.stream(failures).filter(Objects::nonNull).findFirst()
                .orElseGet(() -> new ConnectTimeoutException(noneTried));
    }

    /** A family has tried all it could: the fallbacks go at once if the primaries are done; both done, the end. */
    private void onFamilyDone(Family family) {
        if (over) {
            return;
        }
        if (family == primaries && fallbacks.size() > 0 && !fallbacks.started) {
            startFallbacks();
            return;
        }
        if (primaries.done && (fallbacks.done || fallbacks.size() == 0)) {
            over = true;
            outcome.failed(failures.clone());
        }
    }

    /**
     * A loser's connection ends as Go closes it; a cancelled race's with a reset, as the stream it was for ended. On
     * the channel's own event loop, which may not be the race's (--target-threads), or here if that loop has stopped
     * (its end closes the channel). The socket's options are set there only: from here, the loop may have closed the
     * socket since we looked, and on epoll another socket opened meanwhile may have its file descriptor number, which a
     * late setsockopt would change.
     */
    private static void close(Channel channel, boolean reset) {
        OnLoop.run(channel.eventLoop(), () -> {
            if (reset) {
                endWithReset(channel);
            }
            channel.close();
        }, channel::close);
    }

    /** On {@code channel}'s event loop: makes its close a reset, unless it has closed its socket already. */
    private static void endWithReset(Channel channel) {
        if (!channel.isOpen()) {
            return;
        }
        try {
            channel.config().setOption(ChannelOption.SO_LINGER, 0);
        } catch (ChannelException closedMeanwhile) {
            // Nothing to reset.
        }
    }

    /** The addresses of one family, tried in turn, each with its share of what is left of the timeout. */
    private final class Family {
        private final int[] indexes;
        private int next;
        private boolean started;
        private boolean done;
        private ChannelFuture pending;

        Family(int[] indexes) {
            this.indexes = indexes;
        }

        int size() {
            return indexes.length;
        }

        void tryNext() {
            started = true;
            int shareMillis = next < indexes.length
                    ? AddressShares.connectTimeoutMillis(deadlineNanos, indexes.length - next) : 0;
            if (shareMillis == 0) {
                // Every address tried, or the time is up: Go's dialSerial gives up here too.
                done = true;
                onFamilyDone(this);
                return;
            }
            int index = indexes[next++];
            ChannelFuture connecting;
            try {
                connecting = attempt.connect(addresses[index], shareMillis);
            } catch (RuntimeException refused) {
                // Thrown before the connection started (a socket address or option the attempt refuses): that address
                // failed, as a refused connection does; thrown on, it left the race, and the attempt, with no end.
                failures[index] = refused;
                tryNext();
                return;
            }
            pending = connecting;
            connecting.addListener((ChannelFuture attempted) -> OnLoop.run(executor,
                    () -> onAttempted(this, index, attempted), () -> {
                        if (attempted.isSuccess()) {
                            close(attempted.channel(), true);
                        }
                    }));
        }

        /** The other family won, or the race was cancelled: its attempt under way is called off. */
        void abandon(boolean reset) {
            ChannelFuture connecting = pending;
            pending = null;
            if (connecting == null || connecting.isDone()) {
                return;
            }
            // Netty closes the channel of a cancelled connect; one that connected meanwhile is closed on arrival.
            if (reset) {
                // A connection the kernel may have made already ends with a reset, not an EOF; on the attempt's
                // own loop, as close() says.
                Channel channel = connecting.channel();
                OnLoop.run(channel.eventLoop(), () -> {
                    endWithReset(channel);
                    connecting.cancel(false);
                }, () -> connecting.cancel(false));
            } else {
                connecting.cancel(false);
            }
        }
    }
}
