package io.picotunnel.protocol.yamux;

import io.picotunnel.protocol.log.OncePerIntervalLog;
import org.slf4j.LoggerFactory;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The bytes all yamux sessions sharing it (a server's client connections) hold together for readers that have not
 * taken them, kept within one limit, as each session keeps its own within {@link YamuxConfig#sessionBufferLimit()}.
 * Per-session limits alone let many sessions together pass the JVM's direct memory, and then the session whose
 * frame first finds none loses a stream, not the one holding the most. Past this limit the session holding the most
 * resets its streams, as it does past its own limit (the one whose reader has gone longest without taking any
 * first), until the sessions are back within it. Of sessions holding as much, the newer pays.
 *
 * <p>Each session adds what its streams take and give back to one atomic counter (no lock per frame); the sessions
 * are scanned only when the counter is over the limit, and then once per reset: while one is pending, the frames
 * that find the counter over on every loop leave it to that one. Its WARN is at most once per interval for all the
 * sessions together, apart from the WARN for the sessions' own limits.
 */
public final class TotalBufferBudget {

    /** No limit: sessions count nothing here. */
    public static final TotalBufferBudget NONE = new TotalBufferBudget(0);
    /** {@link #defaultLimit} of this JVM's heap and direct memory caps. */
    public static final long DEFAULT_LIMIT = defaultLimit(Runtime.getRuntime().maxMemory(), DirectMemoryCap.ofThisJvm());

    private final long limit;
    private final AtomicLong held = new AtomicLong();
    private final AtomicLong order = new AtomicLong();
    private final Set<YamuxSession> sessions = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean resetPending = new AtomicBoolean();
    /** Runs as each pending reset ends, while still pending: a no-op but in tests, which place frames there. */
    private final Runnable beforeResetEnds;
    /** Null when {@link #bounded()} is false: nothing is reset for this budget then. */
    private final OncePerIntervalLog resetLog;

    /** @param limit bytes, at least the spec's 256 KiB window; 0 for no limit */
    public TotalBufferBudget(long limit) {
        this(limit, System::nanoTime, () -> { });
    }

    /** With the clock read for the WARN's interval, and {@link #beforeResetEnds}: for tests. */
    TotalBufferBudget(long limit, LongSupplier nanoTime, Runnable beforeResetEnds) {
        if (limit != 0 && limit < YamuxSpec.INITIAL_STREAM_WINDOW) {
            throw new IllegalArgumentException("limit must be 0 or at least " + YamuxSpec.INITIAL_STREAM_WINDOW);
        }
        this.limit = limit;
        this.beforeResetEnds = beforeResetEnds;
        // None for NONE: YamuxConfig.defaults() builds it, and a program that only reads the defaults starts no logging
        this.resetLog = limit == 0 ? null : new OncePerIntervalLog(LoggerFactory.getLogger(YamuxSession.class),
                YamuxSession.BUFFER_LIMIT_LOG_INTERVAL, nanoTime);
    }

    /**
     * Half of the heap or of the direct memory cap, whichever is less: the bytes held wait in heap buffers (small
     * frames) and in direct ones. The uploads of HTTP/2 visitors are not counted here: the server bounds them apart,
     * by --session-buffer-limit (a quarter of the same cap by default), so the two may take three quarters together,
     * the last quarter left to TLS and the sockets' reads. Not half less that quarter: this limit would then be one
     * connection's own default limit, which could never act before it. Never below the spec's window.
     */
    static long defaultLimit(long maxHeap, long maxDirectMemory) {
        return Math.max(YamuxSpec.INITIAL_STREAM_WINDOW, Math.min(maxHeap, maxDirectMemory) / 2);
    }

    public long limit() {
        return limit;
    }

    boolean bounded() {
        return limit > 0;
    }

    /** Bytes all sessions sharing this budget hold now. */
    public long held() {
        return held.get();
    }

    boolean over() {
        return held.get() > limit;
    }

    long nextOrder() {
        return order.incrementAndGet();
    }

    void join(YamuxSession session) {
        sessions.add(session);
    }

    void leave(YamuxSession session) {
        sessions.remove(session);
    }

    void changed(long delta) {
        held.addAndGet(delta);
    }

    /**
     * While over the limit, has the session that holds the most reset its streams; {@code caller} is on its loop (null
     * for none: the reset is then a task, also of the loop we are on). Nothing when a reset is pending already: it
     * goes on until the total is within the limit, and a frame over the limit after it ends starts the next.
     */
    void resetOnFullest(YamuxSession caller) {
        if (!resetPending.compareAndSet(false, true)) {
            return;
        }
        YamuxSession fullest = fullest();
        if (fullest == null) {
            resetEnded();
            return;
        }
        boolean started = false;
        try {
            fullest.resetForTotalBudget(fullest == caller);
            started = true;
        } finally {
            // Queueing the task may throw (out of memory): a flag left set would stop this limit for good.
            if (!started) {
                resetEnded();
            }
        }
    }

    /**
     * The pending reset ended other than by finding the total within the limit: no session holds anything, the session
     * holding the most had nothing to reset, a task could not be queued, or the reset was handed on and ended there.
     */
    void resetEnded() {
        beforeResetEnds.run();
        resetPending.set(false);
    }

    /**
     * The pending reset ended as it found the total within the limit. A frame on another loop may have taken it over
     * since and left it to this reset, which no longer acts on it: the next reset then starts now, as a task, else the
     * total would stay over until a Data frame came anywhere, and none comes when every reader has stopped.
     */
    void resetEndedWithin() {
        resetEnded();
        if (over()) {
            resetOnFullest(null);
        }
    }

    /** A stream reset for this budget: {@code line} built and logged at WARN if none was this interval, else counted. */
    void logReset(Supplier<String> line) {
        YamuxSession.warnOfReset(resetLog, line);
    }

    /**
     * Sessions sharing this budget: those open, and those ended whose streams still hold bytes. For tests: that an
     * ended session left shows in nothing it does (holding nothing, it is never chosen), only in the memory it keeps.
     */
    int sessionCount() {
        return sessions.size();
    }

    YamuxSession fullest() {
        YamuxSession fullest = null;
        long most = 0;
        for (YamuxSession session : sessions) {
            long sessionHeld = session.heldForBudget();
            if (sessionHeld > most || sessionHeld == most && sessionHeld > 0 && session.budgetOrder() > fullest.budgetOrder()) {
                fullest = session;
                most = sessionHeld;
            }
        }
        return fullest;
    }
}
