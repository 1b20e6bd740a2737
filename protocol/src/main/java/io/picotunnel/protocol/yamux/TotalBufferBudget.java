package io.picotunnel.protocol.yamux;

import io.picotunnel.protocol.log.OncePerIntervalLog;
import org.slf4j.LoggerFactory;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
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
 * that find the counter over on every loop leave it to that one, which looks again as it ends. Its WARN is at most
 * once per interval for all the sessions together, apart from the WARN for the sessions' own limits.
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
    private final AtomicReference<Reset> reset = new AtomicReference<>(Reset.NONE);
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
     * While over the limit, has the session that holds the most reset its streams; {@code caller} is on its loop. When
     * a reset is pending already, leaves it to that one: it goes on until the total is within the limit, and looks
     * again as it ends.
     */
    void resetOnFullest(YamuxSession caller) {
        if (reset.getAndUpdate(Reset::frameOver) == Reset.NONE) {
            passOn(caller, null);
        }
    }

    /**
     * Gives the pending reset to the session holding the most: run now if it is {@code current}, on whose loop we are
     * (null for none), else as a task of its loop; past a session whose loop refuses the task (shutting down), to the
     * next. {@code found} is the one holding the most as the caller has just found it ({@link #fullest}), or null to
     * look here. Ends the reset when no session takes it: none holds anything, or every session holding anything
     * refused it; and as an error (queueing the task ran out of memory, say) goes on from here.
     */
    void passOn(YamuxSession current, YamuxSession found) {
        boolean passed = false;
        try {
            YamuxSession fullest = found != null ? found : fullest();
            // Bounded: a session whose loop refused is not chosen again.
            while (!passed && fullest != null) {
                if (fullest == current) {
                    passed = true; // the reset is its own now, which ends it however it stops
                    current.resetForTotalBudget();
                } else {
                    passed = fullest.askResetForTotalBudget();
                    if (!passed) {
                        fullest = fullest();
                    }
                }
            }
        } finally {
            // Also as an error goes on from here: a reset left pending would stop this limit for good.
            if (!passed) {
                resetEnded();
            }
        }
    }

    /**
     * The pending reset ended, however: within the limit, nothing to reset, no session to take it, or an error. If
     * frames over the limit left it to this reset meanwhile, possibly after its last look (they were on other loops),
     * and the total is over still, the next starts now, as a task: else it would stay over until a Data frame came
     * anywhere, and none comes when every reader has stopped. Only then: a reset that could do nothing (all sessions
     * holding anything on loops that refused, say) would else start the next for ever, with nothing changed.
     */
    void resetEnded() {
        beforeResetEnds.run();
        if (reset.getAndSet(Reset.NONE) == Reset.ASKED_AGAIN && over()) {
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

    /** The session holding the most, of those whose loop takes a reset; null if none holds anything. */
    YamuxSession fullest() {
        YamuxSession fullest = null;
        long most = 0;
        for (YamuxSession session : sessions) {
            if (session.loopRefusedReset()) {
                continue;
            }
            long sessionHeld = session.heldForBudget();
            if (sessionHeld > most || sessionHeld == most && sessionHeld > 0 && session.budgetOrder() > fullest.budgetOrder()) {
                fullest = session;
                most = sessionHeld;
            }
        }
        return fullest;
    }

    /** Whether a reset is pending, and whether frames over the limit found it so and left it to that one. */
    private enum Reset {
        NONE, PENDING, ASKED_AGAIN;

        /** After a frame over the limit: from NONE, the frame starts a reset; else it leaves it to the pending one. */
        Reset frameOver() {
            return this == NONE ? PENDING : ASKED_AGAIN;
        }
    }
}
