package io.picotunnel.protocol.yamux;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The bytes all yamux sessions sharing it (a server's client connections) hold together for readers that have not
 * taken them, kept within one limit, as each session keeps its own within {@link YamuxConfig#sessionBufferLimit()}.
 * Per-session limits alone let many sessions together pass the JVM's direct memory, and then the session whose
 * frame first finds none loses a stream, not the one holding the most. Past this limit the session holding the most
 * resets its streams, as it does past its own limit (the one whose reader has gone longest without taking any
 * first), until the sessions are back within it. Of sessions holding as much, the newer pays.
 *
 * <p>Each session adds what its streams take and give back to one atomic counter (no lock per frame); the sessions
 * are scanned only when the counter is over the limit.
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

    /** @param limit bytes, at least the spec's 256 KiB window; 0 for no limit */
    public TotalBufferBudget(long limit) {
        if (limit != 0 && limit < YamuxSpec.INITIAL_STREAM_WINDOW) {
            throw new IllegalArgumentException("limit must be 0 or at least " + YamuxSpec.INITIAL_STREAM_WINDOW);
        }
        this.limit = limit;
    }

    /**
     * Half of the heap or of the direct memory cap, whichever is less: the bytes held wait in heap buffers (small
     * frames) and in direct ones, and the other half is left to what else the process keeps there (TLS, the sockets'
     * reads, the HTTP proxy). Never below the spec's window.
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

    /** While over the limit, has the session that holds the most reset its streams; {@code caller} is on its loop. */
    void resetOnFullest(YamuxSession caller) {
        YamuxSession fullest = fullest();
        if (fullest != null) {
            fullest.resetForTotalBudget(fullest == caller);
        }
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
