package io.picotunnel.server.proxy.http;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The bytes all the request bodies kept for a retry ({@link BodyCopy}) hold together, server-wide, within one limit:
 * each keeps at most {@link BodyCopy#MAX_BYTES}, but 10,000 uploads at once would keep 640 MiB of heap. Past the limit
 * a body is let go as one that finds no memory is: the request goes on, it just cannot be sent again. One atomic
 * counter, shared by the event loops: each body takes its bytes as it keeps them and gives them all back once, when
 * it is let go.
 */
public final class BodyCopyBudget {

    /** {@link #defaultLimit} of this JVM's heap. */
    public static final long DEFAULT_LIMIT = defaultLimit(Runtime.getRuntime().maxMemory());

    private final long limit;
    private final AtomicLong held = new AtomicLong();

    /** @param limit bytes, at least {@link BodyCopy#MAX_BYTES} (one whole body) */
    public BodyCopyBudget(long limit) {
        if (limit < BodyCopy.MAX_BYTES) {
            throw new IllegalArgumentException("limit must be at least " + BodyCopy.MAX_BYTES);
        }
        this.limit = limit;
    }

    /**
     * A sixteenth of the heap the JVM may grow to (the copies are heap buffers), never below one whole body: small
     * beside what the other budgets let the buffers take (half of the heap or direct memory for the tunnel sessions,
     * a quarter for the HTTP/2 uploads), as a copy is only a chance to send a request again.
     */
    static long defaultLimit(long maxHeap) {
        return Math.max(BodyCopy.MAX_BYTES, maxHeap / 16);
    }

    public long limit() {
        return limit;
    }

    /** Bytes all the bodies kept hold now. */
    public long held() {
        return held.get();
    }

    /** Counts {@code bytes} more kept, true; false, counting nothing, if they would pass the limit. */
    boolean take(long bytes) {
        if (held.addAndGet(bytes) > limit) {
            held.addAndGet(-bytes);
            return false;
        }
        return true;
    }

    /** Bytes taken by {@link #take} that are let go. */
    void giveBack(long bytes) {
        held.addAndGet(-bytes);
    }
}
