package io.picotunnel.protocol.yamux;

import java.time.Duration;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Settings of one yamux session. {@link #defaults()} tunes receive windows automatically; {@link #fixedWindow}
 * keeps a fixed window, as hashicorp/yamux does. Callers start from either and change what they need with the
 * {@code with...} methods, never the positional constructor, where two of the twelve values could swap unseen. The four waits ({@code streamOpenTimeout},
 * {@code pingTimeout}, {@code closedStreamLinger}, {@code stalledReaderTimeout}) are apart, so a long wait for a slow
 * peer's ACK does not keep a dead peer's ping or a stuck closed stream waiting as long.
 *
 * @param maxStreamWindow    largest receive window per stream in bytes (spec: initial 256 KiB). With
 *                           {@code windowAutoTuning} a stream starts at 256 KiB and grows towards it; without, the
 *                           whole window is announced when the stream opens. Credit is returned to the peer as the
 *                           application consumes data, once the delta reaches half of the current window
 * @param keepAliveInterval  how often a ping is sent; a peer that has not answered the previous ping when
 *                           the next one is due is declared dead (so detection takes at most two intervals), and
 *                           one that leaves the start-up ping unanswered for one interval (or {@code pingTimeout}, if
 *                           shorter) is declared dead then; {@link Duration#ZERO} disables keepalive
 * @param maxStreams         most concurrently open streams; an inbound SYN beyond it is answered with RST, reason
 *                           {@link ResetReason#REFUSED_STREAM_LIMIT}
 * @param streamOpenTimeout  how long an opened stream waits for the peer's ACK before it is reset, and nothing else
 * @param writeBufferHighWaterMark bytes queued on a stream (not yet sent because of the send window or
 *                           the parent's writability) above which the stream channel is not writable
 * @param sessionWindowBudget bytes all streams of the session together may grow their windows by beyond 256 KiB
 *                           each, so memory stays bounded with thousands of streams
 * @param windowAutoTuning   grow a stream's window (doubling, up to {@code maxStreamWindow}, within the budget)
 *                           when its reader consumed half of it within two round trips: the window, not the
 *                           reader, limits that stream (as HTTP/2 and QUIC stacks do with a bandwidth-delay estimate)
 * @param sessionBufferLimit bytes all streams of the session together may hold received and not yet taken by their
 *                           readers; past it the holding stream whose reader has gone longest without taking any is
 *                           reset. Every stream may be sent its initial 256 KiB whatever the budget, so without it
 *                           {@code maxStreams} streams to readers that do not read could hold {@code maxStreams}
 *                           times 256 KiB
 * @param pingTimeout        how long {@link YamuxSession#ping()} waits for the answer before it fails
 * @param closedStreamLinger how long a stream closed here may make no progress (no data and no credit either way)
 *                           while it waits for the peer's FIN before it is reset
 * @param stalledReaderTimeout how long a stream that ended on the wire and outlived its session may hold bytes its
 *                           reader takes none of before it is reset, the bytes dropped
 * @param totalBufferBudget  what the session shares with the other sessions of the process: past its limit the
 *                           session holding the most resets streams as past {@code sessionBufferLimit};
 *                           {@link TotalBufferBudget#NONE} unless set
 */
public record YamuxConfig(
        int maxStreamWindow,
        Duration keepAliveInterval,
        int maxStreams,
        Duration streamOpenTimeout,
        int writeBufferHighWaterMark,
        long sessionWindowBudget,
        boolean windowAutoTuning,
        long sessionBufferLimit,
        Duration pingTimeout,
        Duration closedStreamLinger,
        Duration stalledReaderTimeout,
        TotalBufferBudget totalBufferBudget) {

    /** What each of the four waits is unless set: {@link #streamOpenTimeout} and the three apart from it. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
    /** How often each side pings unless set ({@link #keepAliveInterval}). */
    public static final Duration DEFAULT_KEEPALIVE_INTERVAL = Duration.ofSeconds(30);
    /** The window every stream starts with, the spec's; auto-tuning grows it up to {@link #maxStreamWindow}. */
    public static final int INITIAL_STREAM_WINDOW = YamuxSpec.INITIAL_STREAM_WINDOW;
    public static final int DEFAULT_MAX_STREAM_WINDOW = 16 * 1024 * 1024;
    public static final long DEFAULT_SESSION_WINDOW_BUDGET = 64L * 1024 * 1024;
    public static final int DEFAULT_MAX_STREAMS = 65_536;
    /** {@link #defaultSessionBufferLimit} of this JVM's heap and direct memory caps. */
    public static final long DEFAULT_SESSION_BUFFER_LIMIT =
            defaultSessionBufferLimit(Runtime.getRuntime().maxMemory(), DirectMemoryCap.ofThisJvm());

    public YamuxConfig {
        if (maxStreamWindow < INITIAL_STREAM_WINDOW) {
            throw new IllegalArgumentException("maxStreamWindow must be at least " + INITIAL_STREAM_WINDOW);
        }
        if (maxStreamWindow > 1 << 30) {
            throw new IllegalArgumentException("maxStreamWindow must be at most 1 GiB");
        }
        if (keepAliveInterval.isNegative()) {
            throw new IllegalArgumentException("keepAliveInterval must not be negative");
        }
        if (maxStreams < 1) {
            throw new IllegalArgumentException("maxStreams must be positive");
        }
        requirePositive(streamOpenTimeout, "streamOpenTimeout");
        requirePositive(pingTimeout, "pingTimeout");
        requirePositive(closedStreamLinger, "closedStreamLinger");
        requirePositive(stalledReaderTimeout, "stalledReaderTimeout");
        Objects.requireNonNull(totalBufferBudget, "totalBufferBudget");
        if (writeBufferHighWaterMark < 1) {
            throw new IllegalArgumentException("writeBufferHighWaterMark must be positive");
        }
        if (sessionWindowBudget < 0) {
            throw new IllegalArgumentException("sessionWindowBudget must not be negative");
        }
        if (sessionBufferLimit < INITIAL_STREAM_WINDOW) {
            throw new IllegalArgumentException("sessionBufferLimit must be at least " + INITIAL_STREAM_WINDOW);
        }
    }

    /**
     * 256 MiB, or a quarter of the heap or of the direct memory where that is less: the bytes held wait in heap
     * buffers (small frames) and in direct ones (frames of 16 KiB and more). The direct cap is the heap's maximum
     * unless -XX:MaxDirectMemorySize sets it lower; the limit follows it then, so that one session alone is unlikely
     * to find the direct memory exhausted before it resets its stalled streams (the limit is per session: many
     * sessions together can still exhaust it, when a frame that finds no memory resets a stream, not the session:
     * {@link TotalBufferBudget} bounds them together).
     */
    static long defaultSessionBufferLimit(long maxHeap, long maxDirectMemory) {
        return Math.max(INITIAL_STREAM_WINDOW, Math.min(256L * 1024 * 1024, Math.min(maxHeap, maxDirectMemory) / 4));
    }

    private static void requirePositive(Duration d, String name) {
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + " must be positive");
        }
    }

    /**
     * Windows growing to {@link #DEFAULT_MAX_STREAM_WINDOW}, or to half of {@link #DEFAULT_SESSION_BUFFER_LIMIT}
     * where that is less (a small heap): {@link #windowWithin}.
     */
    public static YamuxConfig defaults() {
        return new YamuxConfig(windowWithin(DEFAULT_MAX_STREAM_WINDOW, DEFAULT_SESSION_BUFFER_LIMIT),
                DEFAULT_KEEPALIVE_INTERVAL, DEFAULT_MAX_STREAMS,
                DEFAULT_TIMEOUT, 64 * 1024, DEFAULT_SESSION_WINDOW_BUDGET, true,
                DEFAULT_SESSION_BUFFER_LIMIT, DEFAULT_TIMEOUT, DEFAULT_TIMEOUT, DEFAULT_TIMEOUT, TotalBufferBudget.NONE);
    }

    /** A fixed window of {@code window} bytes for every stream, no auto-tuning; the rest as {@link #defaults()}. */
    public static YamuxConfig fixedWindow(int window) {
        return defaults().withWindowAutoTuning(false).withMaxStreamWindow(window);
    }

    /**
     * The largest window a stream may grow to under {@code sessionBufferLimit}: at most half of it (never below
     * the spec's 256 KiB), so a healthy stream holding a whole window for a moment is not the one over the limit.
     */
    public static int windowWithin(long maxStreamWindow, long sessionBufferLimit) {
        return (int) Math.max(INITIAL_STREAM_WINDOW, Math.min(maxStreamWindow, sessionBufferLimit / 2));
    }

    /** The largest Data frame the peer may send: what the biggest window we may grant allows. */
    public int maxDataFrame() {
        return maxStreamWindow;
    }

    public YamuxConfig withKeepAliveInterval(Duration interval) {
        return with(c -> c.keepAliveInterval = interval);
    }

    /** How long a new stream waits for the peer's ACK; the other three waits stay as they are. */
    public YamuxConfig withStreamOpenTimeout(Duration timeout) {
        return with(c -> c.streamOpenTimeout = timeout);
    }

    public YamuxConfig withMaxStreams(int max) {
        return with(c -> c.maxStreams = max);
    }

    /** Windows grow up to {@code max} with auto-tuning on, or are fixed at {@code max} with it off. */
    public YamuxConfig withMaxStreamWindow(int max) {
        return with(c -> c.maxStreamWindow = max);
    }

    public YamuxConfig withWriteBufferHighWaterMark(int bytes) {
        return with(c -> c.writeBufferHighWaterMark = bytes);
    }

    public YamuxConfig withSessionWindowBudget(long budget) {
        return with(c -> c.sessionWindowBudget = budget);
    }

    public YamuxConfig withWindowAutoTuning(boolean on) {
        return with(c -> c.windowAutoTuning = on);
    }

    public YamuxConfig withSessionBufferLimit(long limit) {
        return with(c -> c.sessionBufferLimit = limit);
    }

    public YamuxConfig withPingTimeout(Duration timeout) {
        return with(c -> c.pingTimeout = timeout);
    }

    public YamuxConfig withClosedStreamLinger(Duration linger) {
        return with(c -> c.closedStreamLinger = linger);
    }

    public YamuxConfig withStalledReaderTimeout(Duration timeout) {
        return with(c -> c.stalledReaderTimeout = timeout);
    }

    /** Shares {@code budget} with the other sessions given it. */
    public YamuxConfig withTotalBufferBudget(TotalBufferBudget budget) {
        return with(c -> c.totalBufferBudget = budget);
    }

    /** This config with {@code change} made, checked by the constructor like any other. */
    private YamuxConfig with(Consumer<Copy> change) {
        Copy copy = new Copy(this);
        change.accept(copy);
        return copy.build();
    }

    /** The values of a config by name, so that the with methods name what they change, never a position. */
    private static final class Copy {
        int maxStreamWindow;
        Duration keepAliveInterval;
        int maxStreams;
        Duration streamOpenTimeout;
        int writeBufferHighWaterMark;
        long sessionWindowBudget;
        boolean windowAutoTuning;
        long sessionBufferLimit;
        Duration pingTimeout;
        Duration closedStreamLinger;
        Duration stalledReaderTimeout;
        TotalBufferBudget totalBufferBudget;

        Copy(YamuxConfig config) {
            maxStreamWindow = config.maxStreamWindow;
            keepAliveInterval = config.keepAliveInterval;
            maxStreams = config.maxStreams;
            streamOpenTimeout = config.streamOpenTimeout;
            writeBufferHighWaterMark = config.writeBufferHighWaterMark;
            sessionWindowBudget = config.sessionWindowBudget;
            windowAutoTuning = config.windowAutoTuning;
            sessionBufferLimit = config.sessionBufferLimit;
            pingTimeout = config.pingTimeout;
            closedStreamLinger = config.closedStreamLinger;
            stalledReaderTimeout = config.stalledReaderTimeout;
            totalBufferBudget = config.totalBufferBudget;
        }

        YamuxConfig build() {
            return new YamuxConfig(maxStreamWindow, keepAliveInterval, maxStreams, streamOpenTimeout,
                    writeBufferHighWaterMark, sessionWindowBudget, windowAutoTuning, sessionBufferLimit,
                    pingTimeout, closedStreamLinger, stalledReaderTimeout, totalBufferBudget);
        }
    }
}
